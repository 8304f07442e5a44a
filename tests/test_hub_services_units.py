"""The room services' pieces that need no hub: stripping solutions, credentials, the dashboard's view."""

from __future__ import annotations

import base64
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
