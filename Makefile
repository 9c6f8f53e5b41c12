# kovflow: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck routes-check bench serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kovflow demo

lint: $(STAMP)
	$(BIN)/ruff check kovflow tests bench
	$(BIN)/mypy

routes-check: $(STAMP)
	$(BIN)/kovflow routes check

test: lint routes-check
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python bench/run.py

serve: $(STAMP)
	@echo "The web application arrives with the web issue; for now use the CLI (kovflow --help)."

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
