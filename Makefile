# kovflow: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install demo test lint typecheck routes-check routes-docs bench bench-quick serve clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/kovflow demo --serve

lint: $(STAMP)
	$(BIN)/ruff check kovflow tests bench
	$(BIN)/mypy

routes-check: $(STAMP)
	$(BIN)/kovflow routes check
	$(BIN)/kovflow routes docs --check || (echo "docs/routes is out of date: run .venv/bin/kovflow routes docs" && false)

# One pytest worker per core (at most 4); loadscope keeps each module on one worker, so that
# module-scoped fixtures (the Arnhem population, the browser) are built once.
test: lint routes-check
	$(BIN)/pytest -q -n auto --maxprocesses=4 --dist loadscope

routes-docs: $(STAMP)
	$(BIN)/kovflow routes docs

bench: $(STAMP)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/audit_stalled.py
	$(BIN)/python bench/monitor_year.py
	$(BIN)/python bench/web_latency.py

bench-quick: $(STAMP)
	$(BIN)/python bench/run.py --quick
	$(BIN)/python bench/audit_stalled.py --quick
	$(BIN)/python bench/monitor_year.py --quick
	$(BIN)/python bench/web_latency.py --cases 10000 --seconds 5

serve: $(STAMP)
	$(BIN)/kovflow serve --with-worker

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
