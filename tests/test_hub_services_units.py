"""The room services' pieces that need no hub: stripping solutions, credentials, the dashboard's view."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from solution_leaks import decoded_blobs, solution_lines

from incubo import xapi
from incubo.hub import lrs_keys, room_view
from incubo.hub.lrs_gate import actor_is
from incubo.released import strip_release

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
HOME = "http://127.0.0.1:8000"


def test_a_stripped_release_holds_no_solution_in_any_form(tmp_path):
    original = json.loads((FIXTURE / "incubo_exercices.json").read_text(encoding="utf-8"))
    secret_lines = solution_lines(original)
    assert secret_lines  # the fixture does carry solutions
    release = tmp_path / "essai-01"
    shutil.copytree(FIXTURE, release)
    assert strip_release(tmp_path) == 1
    assert strip_release(tmp_path) == 0  # idempotent
    for path in release.rglob("*"):
        text = path.read_text(encoding="utf-8")
        for candidate in [text, *decoded_blobs(text)]:
            assert not [line for line in secret_lines if line in candidate], path
    stripped = json.loads((release / "incubo_exercices.json").read_text(encoding="utf-8"))
    ex = stripped["exercices"]["ex-addition-1"]
    assert ex["solution"] is None and ex["solution_serveur"] is True
    assert ex["politique_solution"] == original["exercices"]["ex-addition-1"]["politique_solution"]
    assert ex["noms_requis"] == [
        "total"
    ]  # the check still tells « nothing written yet » from « wrong »
    assert stripped["exercices"]["ex-secret"]["solution_serveur"] is False


def test_each_learner_gets_a_credential_of_their_own(tmp_path):
    secret = lrs_keys.gate_secret(tmp_path)
    assert (tmp_path / "lrs").stat().st_mode & 0o077 == 0  # the hub's eyes only
    a, b = lrs_keys.learner_auth(secret, "alice"), lrs_keys.learner_auth(secret, "bob")
    assert a != b and a.split(":")[1] != b.split(":")[1]

    def basic(auth: str) -> str:
        return "Basic " + base64.b64encode(auth.encode()).decode()

    assert lrs_keys.identify(secret, basic(a)) == lrs_keys.Caller("alice")
    assert (
        lrs_keys.identify(secret, basic("bob:" + a.split(":")[1])) is None
    )  # alice's password is not bob's
    reader = lrs_keys.reader_auth(secret, "formateurs")
    assert lrs_keys.identify(secret, basic(reader)) == lrs_keys.Caller("formateurs", reader=True)
    # a learner called « formateurs » is still only a learner
    assert lrs_keys.identify(
        secret, basic(lrs_keys.learner_auth(secret, "formateurs"))
    ) == lrs_keys.Caller("formateurs")


def test_the_gate_recognises_only_the_learners_own_actor():
    own = xapi.statement(
        "attempted",
        parcours="p",
        module="m",
        kind="exercice",
        ident="e",
        actor_name="alice",
        homepage=HOME,
    )
    assert actor_is(own, HOME, "alice")
    assert not actor_is(own, HOME, "bob")
    assert not actor_is(own, "http://ailleurs", "alice")
    assert not actor_is(
        dict(own, actor={"objectType": "Agent", "mbox": "mailto:alice@example.org"}), HOME, "alice"
    )
    group = {"objectType": "Group", "member": [own["actor"]], "account": own["actor"]["account"]}
    assert not actor_is(dict(own, actor=group), HOME, "alice")


def test_the_room_view_shows_thirty_learners_progress_and_who_is_stuck():
    now = datetime.now(UTC)
    modules = {
        "m1": {"titre": "Module 1", "exercices": ["e1", "e2"]},
        "m2": {"titre": "Module 2", "exercices": ["e3"]},
    }
    statements = []

    def add(who, verb, ex, module="m1", minutes=1.0, verdict=None):
        ext = {"verdict": verdict} if verdict else None
        statements.append(
            xapi.statement(verb, parcours="p", module=module, kind="exercice", ident=ex, actor_name=who, homepage=HOME,
                           extensions=ext, timestamp=(now - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"))
        )  # fmt: skip

    for i in range(30):
        who = f"agent{i:02d}"
        add(who, "attempted", "e1", verdict="correct", minutes=5)
        add(who, "passed", "e1", minutes=5)
    for _ in range(3):
        add("agent07", "attempted", "e2", verdict="incorrect", minutes=2)
    add("agent07", "asked", "e2", minutes=1)
    add("agent03", "passed", "e3", module="m2")
    view = room_view.room_view(statements, modules, now=now)
    assert len(view["personnes"]) == 30
    assert [b["nom"] for b in view["bloques"]] == ["agent07"]
    assert view["bloques"][0]["echecs"] == 3 and view["bloques"][0]["indices"] == 1
    agent03 = next(p for p in view["personnes"] if p["nom"] == "agent03")
    assert agent03["modules"] == [
        {"module": "m1", "reussis": 1, "total": 2},
        {"module": "m2", "reussis": 1, "total": 1},
    ]
    m1 = next(m for m in view["modules"] if m["module"] == "m1")
    assert (m1["reussites"], m1["possibles"], m1["termine_par"]) == (30, 60, 0)
    assert view["verifications"][0]["nom"] == "agent07"  # the latest check first
    assert "pas encore" in view["verifications"][0]["action"]
    # times in the room's clock, in French (« 15 h 27 min 05 s »), whatever the server's zone
    paris = (now - timedelta(minutes=2)).astimezone(ZoneInfo("Europe/Paris"))
    assert view["verifications"][0]["heure"] == f"{paris:%-H} h {paris:%M} min {paris:%S} s"
    assert view["mis_a_jour"].endswith(" s") and " h " in view["mis_a_jour"]


def test_the_region_layout_uses_the_charts_ralph_and_fixed_ports(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from traitlets.config import Config

    from incubo.hub.services import configure_services

    monkeypatch.setenv("INCUBO_HUB_RALPH_URL", "http://ralph:8080")
    monkeypatch.setenv("INCUBO_HUB_RALPH_AUTH", "passerelle:secret-du-chart")
    monkeypatch.setenv("INCUBO_HUB_SERVICES_IP", "0.0.0.0")
    monkeypatch.setenv("INCUBO_HUB_SERVICES_HOST", "hub")
    monkeypatch.setenv("INCUBO_HUB_SERVICES_PORTS", "lrs=8101,tableau-de-bord=8102,solutions=8103")
    c = Config()
    settings = SimpleNamespace(
        hub_dir=tmp_path, course_id="incubo", course_dir=tmp_path, url="https://salle.example"
    )
    configure_services(c, settings)
    services = {s["name"]: s for s in c.JupyterHub.services.get_value([])}
    assert "ralph" not in services  # the chart's Ralph, not one started by the hub
    assert services["lrs"]["url"] == "http://hub:8101"
    assert services["lrs"]["environment"]["INCUBO_RALPH_URL"] == "http://ralph:8080"
    assert services["lrs"]["environment"]["INCUBO_RALPH_AUTH"] == "passerelle:secret-du-chart"
    assert services["lrs"]["environment"]["INCUBO_SERVICE_BIND_IP"] == "0.0.0.0"
    assert services["tableau-de-bord"]["url"] == "http://hub:8102"
    env = c.Spawner.environment.get_value({})
    assert env["INCUBO_LRS_URL"] == "http://hub:8101/services/lrs/"
    assert env["INCUBO_SOLUTIONS_URL"] == "http://hub:8103/services/solutions/"
    assert env["INCUBO_ACTOR_HOMEPAGE"] == "https://salle.example"
    spawner = SimpleNamespace(user=SimpleNamespace(name="alice"))
    assert env["INCUBO_LRS_AUTH"](spawner) == lrs_keys.learner_auth(
        lrs_keys.gate_secret(tmp_path), "alice"
    )
    monkeypatch.setenv("INCUBO_SERVICE_BIND_IP", "0.0.0.0")
    monkeypatch.setenv("JUPYTERHUB_SERVICE_URL", "http://hub:8101/services/lrs/")
    from incubo.config import service_settings

    assert service_settings().bind_url == "http://0.0.0.0:8101/services/lrs/"


def test_the_grader_has_a_credential_of_its_own_that_no_learner_name_gives(tmp_path):
    from incubo.authority import GRADER

    secret = lrs_keys.gate_secret(tmp_path)

    def basic(auth: str) -> str:
        return "Basic " + base64.b64encode(auth.encode()).decode()

    grader = lrs_keys.identify(secret, basic(lrs_keys.grader_auth(secret)))
    assert grader == lrs_keys.Caller(GRADER, reader=True, grader=True)
    # a learner whose hub name is « correcteur » is a learner, nothing more
    namesake = lrs_keys.identify(secret, basic(lrs_keys.learner_auth(secret, GRADER)))
    assert namesake == lrs_keys.Caller(GRADER)
    assert lrs_keys.grader_auth(secret) != lrs_keys.learner_auth(secret, GRADER)


def test_the_gate_rules_on_grades_and_authority():
    from incubo import authority
    from incubo.hub.lrs_rules import grader_refusal, learner_refusal, set_authority

    def stmt(verb, who="alice", **extra):
        s = xapi.statement(verb, parcours="p", module="m", kind="exercice", ident="e",
                           actor_name=who, homepage=HOME)  # fmt: skip
        s.update(extra)
        return s

    assert learner_refusal([stmt("passed"), stmt("attempted")], HOME, "alice") is None
    assert learner_refusal([stmt("scored")], HOME, "alice").reason == "verbe-reserve"
    void = dict(stmt("passed"), verb={"id": "http://adlnet.gov/expapi/verbs/voided"})
    assert learner_refusal([void], HOME, "alice").reason == "verbe-reserve"
    claimed = stmt("passed", authority=authority.grader_authority(HOME))
    assert learner_refusal([claimed], HOME, "alice").reason == "autorite"
    own = stmt("passed", authority=authority.learner_authority(HOME, "alice"))
    assert learner_refusal([own], HOME, "alice") is None
    assert learner_refusal([stmt("passed", who="bob")], HOME, "alice").reason == "acteur"
    # the grader writes grades about this hub's learners, nothing else
    assert grader_refusal([stmt("scored", "bob"), stmt("failed", "alice")], HOME) is None
    assert grader_refusal([stmt("attempted")], HOME) is not None
    other_hub = xapi.statement("scored", parcours="p", actor_name="bob", homepage="http://x")
    assert grader_refusal([other_hub], HOME) is not None
    # whatever was sent, the authority is the gate's
    batch = [stmt("passed"), own]
    set_authority(batch, HOME, "alice")
    assert [authority.by_grader(s) for s in batch] == [False, False]
    assert batch[0]["authority"]["account"] == {"homePage": HOME, "name": "alice"}
    grades = [stmt("scored", "bob")]
    set_authority(grades, HOME, None)
    assert authority.by_grader(grades[0])
    # no learner's authority looks like the grader's, whatever their name
    assert not authority.by_grader({"authority": authority.learner_authority(HOME, "correcteur")})


def test_a_token_bucket_lets_a_burst_through_then_says_how_long_to_wait():
    from incubo.hub.lrs_limits import Limits, RateLimiter

    limiter = RateLimiter(
        Limits(burst=3, per_second=0.5, statements_burst=10, statements_per_second=1)
    )
    assert [limiter.request("alice") for _ in range(4)][:3] == [0, 0, 0]
    assert limiter.request("alice") >= 1  # empty: about 2 s for the next token
    assert limiter.request("bob") == 0  # each learner has a bucket of their own
    assert limiter.statements("alice", 10) == 0
    assert limiter.statements("alice", 5) >= 4
    # more than a full bucket passes once, when full, and is paid back before anything else
    assert limiter.statements("bob", 11) == 0
    assert limiter.statements("bob", 1) >= 2


def test_the_hub_writes_the_graders_access_and_grading_finds_it(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from traitlets.config import Config

    from incubo import authority
    from incubo.grading import statements
    from incubo.hub.services import configure_services

    for name in ("INCUBO_HUB_RALPH_URL", "INCUBO_HUB_SERVICES_PORTS", "INCUBO_LRS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INCUBO_RALPH_PYTHON", "/bin/true")  # a Ralph to manage (not started)
    settings = SimpleNamespace(hub_dir=tmp_path, course_id="incubo", course_dir=tmp_path, url=HOME)
    configure_services(Config(), settings)
    path = tmp_path / authority.ACCESS_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    access = authority.read_access(tmp_path)
    ports = json.loads((tmp_path / "lrs" / "ports.json").read_text())
    assert access.url == f"http://127.0.0.1:{ports['lrs']}/services/lrs/"
    assert access.auth == lrs_keys.grader_auth(lrs_keys.gate_secret(tmp_path))
    assert access.homepage == HOME
    monkeypatch.setenv("INCUBO_HUB_DIR", str(tmp_path))
    assert statements.hub_access() == access
    monkeypatch.setenv("INCUBO_LRS_URL", "http://lrs.example/")  # named explicitly: it wins
    assert statements.hub_access() is None
    # grade ids: stable, and keyed by the grader's secret on a hub
    text = "ps1/alice/correct_squares/passed/abc"
    assert statements.statement_id(access.password, text) == statements.statement_id(
        access.password, text
    )
    assert statements.statement_id(access.password, text) != statements.statement_id(None, text)


def test_research_copies_keep_who_vouched_for_a_grade_and_nobodys_name():
    from incubo import authority
    from incubo.reports.load import _pseudonymise_statement

    grade = xapi.statement("scored", parcours="p", actor_name="jdupont", homepage=HOME)
    grade["authority"] = authority.grader_authority(HOME)
    claim = xapi.statement("passed", parcours="p", actor_name="jdupont", homepage=HOME)
    claim["authority"] = authority.learner_authority(HOME, "jdupont")
    out = [_pseudonymise_statement(s, b"k" * 32) for s in (grade, claim)]
    assert [authority.by_grader(s) for s in out] == [True, False]
    assert "jdupont" not in json.dumps(out) and HOME not in json.dumps(out)
