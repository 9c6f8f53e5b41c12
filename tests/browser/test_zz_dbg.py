from tests.browser.test_coach_flow import *  # noqa
from tests.browser.test_coach_flow import _open, PLAATS

def test_dbg(server: LiveServer, login: Login) -> None:
    case = _open(server)
    w, app = server.world, server.app
    fire(app, w.coach, "plaatsing", "plaats", case=case, data=PLAATS)
    fire(app, w.coach, "wijkcoach", "wijkcoach_nodig", case=case)
    fire(app, w.coach, "wijkcoach", "ouders_stemmen_in", case=case,
         data={"datum": "2026-12-01", "plaats": "thuis", "collega_kinderopvang": "pm"})
    join_team(app, case, "wijkcoach")
    fire(app, w.wijkcoach, "wijkcoach", "kennismaking_gehouden", case=case)
    fire(app, w.wijkcoach, "wijkcoach", "plan_eerste_gesprek", case=case,
         data={"datum": "2026-12-10"})
    eva = login("wijkcoach")
    eva.goto(f"/casus/{case}")
    import re
    print(re.findall(r"<summary>.*?</summary>|<h3[^>]*>.*?</h3>|Stand: .*?</p>", eva.content()))
