"""The séance in the room's dashboard service: the trainer's panel and API, the projection, the
learners' state. Units first (the store and the learners' endpoint on a real tornado server, no
hub), then one real hub (shared with test_seance_hub): the trainer works in Chromium while five
learners' statements reach the LRS through the gate with their own credentials (no server of
theirs is needed for that)."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import time
from pathlib import Path

import pytest
import requests
from harness import axe_violations, free_port, incubo
from hub_support import PASSWORD, unique_name
from seance_support import seance_room  # noqa: F401 (a fixture)

from incubo import seance, xapi
from incubo.config import hub_settings
from incubo.hub import lrs_keys, seance_ops, seance_service
from incubo.hub.dashboard import LrsReader, Room, make_app

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
MODULE = "essai-01"
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
XAPI = {"X-Experience-API-Version": "1.0.3"}
DASHBOARD = "/services/tableau-de-bord/"


def make_course(course_dir: Path) -> None:
    """One module (a lesson, then exercises: two steps) in source and release, as nbgrader wants."""
    (course_dir / "source").mkdir(parents=True)
    for side in ("source", "release"):
        shutil.copytree(FIXTURE, course_dir / side / MODULE)
        for nb in ("01-lecon", "02-exercices"):
            (course_dir / side / MODULE / f"{nb}.ipynb").write_text(NOTEBOOK)
    (course_dir / "gradebook.db").write_bytes(b"")
    (course_dir / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "incubo"\n'
    )


def said(s: seance.Seance, who: str, verb: str, *, homepage: str = "http://salle", **what) -> dict:
    """A statement of learner `who` during séance `s` (stamped with its registration)."""
    return xapi.statement(
        verb,
        parcours=s.parcours,
        module=s.module,
        actor_name=who,
        homepage=homepage,
        registration=s.registration,
        **what,
    )


def answer(s: seance.Seance, who: str, response: str, **kw) -> dict:
    poll = s.current_poll
    return said(s, who, "answered", kind="quiz", ident=f"seance-{s.code}-{poll.id}",
                result={"response": response}, **kw)  # fmt: skip


# --- units: no hub ----------------------------------------------------------------------------


def test_a_typed_question_becomes_the_spec_launch_poll_expects():
    spec = seance_service.typed_spec({
        "type": "choix-multiple", "question": " Lesquels ? ", "options": "Rouge\n\n  Vert \nBleu\n",
        "correct": "1, Bleu",
    })  # fmt: skip
    assert spec["options"] == ["Rouge", "Vert", "Bleu"]
    assert spec["correct"] == [0, 2]  # numbers start at 1 for the trainer, indexes at 0
    poll = seance.typed_poll(spec, "q1")
    assert poll.kind == "choix-multiple" and poll.answer_text() == "Rouge ; Bleu"
    with pytest.raises(seance.IncuboError, match="ni le numéro"):
        seance_service.typed_spec(
            {"type": "choix-unique", "question": "Q", "options": "a\nb", "correct": "4"}
        )
    assert (
        seance_service.typed_spec({"type": "nombre", "question": "Q", "correct": "3,5"})["correct"]
        == "3,5"
    )  # launch_poll reads French numbers itself


@pytest.fixture
def settings(tmp_path):
    course = tmp_path / "cours"
    make_course(course)
    return hub_settings(env={}, hub_dir=tmp_path / "hub", course_dir=course)


def test_the_views_follow_the_store_and_count_only_the_seances_statements(settings):
    seances = seance_service.Seances(settings)
    seances.recompute([])
    assert seances.current is None and json.loads(seances.learner_body()) == {"seance": None}
    s = seance_ops.open_seance(settings, MODULE, step_by_step=True)
    assert seances.store_signature() != seances.signature  # the watcher would recompute now
    names = [f"a{i}" for i in range(5)]
    statements = [said(s, n, "experienced", kind="lecon", ident="01-lecon") for n in names]
    stranger = xapi.statement("experienced", parcours=s.parcours, module=s.module, kind="lecon",
                              ident="01-lecon", actor_name="hors-seance")  # fmt: skip
    seances.recompute([*statements, stranger])
    view = seances.view(s.code.lower())
    assert view["participants"] == 5
    [lesson, exercises] = view["etapes"]
    assert (lesson["ouverte_par"], lesson["debloquee"], exercises["debloquee"]) == (5, True, False)
    panel = seances.current
    assert panel["code"] == s.code and panel["pas_a_pas"] and panel["etape"] == 0
    assert [e["notebook"] for e in panel["etapes"]] == ["01-lecon", "02-exercices"]
    assert {q["id"] for q in panel["questions"]} >= {"q-cellule", "q-total", "q-prefecture"}
    assert json.loads(seances.learner_body())["seance"] == json.loads(json.dumps(s.learner_state()))
    # a poll from the bank: the trainer sees its answer, learners do not until it is revealed
    seance_ops.launch_poll(settings, s.code, {"question_id": "q-cellule"})
    seances.recompute(statements)
    assert seances.current["sondage"]["bonne_reponse"] == "Maj + Entrée"
    learner = json.loads(seances.learner_body())["seance"]["sondage"]
    assert learner["question"] == "Comment exécuter une cellule ?" and "correct" not in learner
    seance_ops.close_seance(settings, s.code)
    seances.recompute(statements)
    assert seances.current is None and json.loads(seances.learner_body()) == {"seance": None}
    assert seances.view(s.code) is None  # closed and no projection asked for it
    seances.watch(s.code)
    seances.recompute(statements)
    assert seances.view(s.code)["ouverte"] is False


def test_a_long_history_is_not_read_again_each_second(settings, monkeypatch):
    """The dashboard recomputes each second: only a séance file that changed is parsed again."""
    for _ in range(3):  # a hub's history: séances opened and closed on earlier days
        seance_ops.close_seance(settings, seance_ops.open_seance(settings, MODULE).code)
    s = seance_ops.open_seance(settings, MODULE, step_by_step=True)
    seances = seance_service.Seances(settings)
    monkeypatch.setattr(
        seance, "_files", {}
    )  # the store's one cache, as in a dashboard just started
    reads = []
    real = seance.read_file
    monkeypatch.setattr(seance, "read_file", lambda path: reads.append(path.name) or real(path))
    seances.recompute([])
    assert len(reads) == 4 and seances.current["code"] == s.code
    reads.clear()
    for _ in range(3):
        seances.recompute([])
        seances.learner_body()
    assert reads == []
    seance_ops.next_step(settings, s.code)  # by the command line, say (it reads the file too)
    reads.clear()
    seances.recompute([])
    assert reads == [f"{s.code}.json"] and seances.current["etape"] == 1


def test_learners_servers_get_the_seance_with_their_own_credentials_only(settings):
    secret = lrs_keys.gate_secret(settings.hub_dir)
    seances = seance_service.Seances(settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}{DASHBOARD}seance/apprenant"
    s = seance_ops.open_seance(settings, MODULE)

    def basic(auth: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}

    async def scenario() -> list:
        from tornado.httpclient import AsyncHTTPClient

        room = Room(LrsReader("http://127.0.0.1:9/services/lrs/", "x:y"), settings.course_dir, 5.0,
                    seances)  # fmt: skip
        server = make_app(room, DASHBOARD, "jeton", gate_secret=secret).listen(port, "127.0.0.1")
        client = AsyncHTTPClient()
        out = []
        try:
            for headers in (
                basic(lrs_keys.learner_auth(secret, "alice")),
                basic(lrs_keys.reader_auth(secret, "formateurs")),
                basic("alice:pas-le-bon"),
                {},
            ):
                r = await client.fetch(url, headers=headers, raise_error=False)
                out.append((r.code, json.loads(r.body), r.headers.get("WWW-Authenticate")))
            t0 = time.perf_counter()
            for _ in range(300):  # thirty learners asking every two seconds: 15 a second
                await client.fetch(url, headers=basic(lrs_keys.learner_auth(secret, "bob")))
            out.append(time.perf_counter() - t0)
        finally:
            server.stop()
        return out

    ok, reader, wrong, none, seconds = asyncio.run(scenario())
    assert ok[0] == 200 and ok[1]["seance"]["code"] == s.code
    assert ok[1]["seance"]["etapes"] == ["01-lecon", "02-exercices"]
    assert reader[0] == 403 and "réservée aux apprenants" in reader[1]["erreur"]
    assert wrong[0] == none[0] == 401 and wrong[2] and "erreur" in none[1]
    assert seconds < 3, f"300 learner requests took {seconds:.1f} s"


# --- one real hub -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def room(seance_room):  # noqa: F811 (the fixture imported above)
    """The room hub shared with test_seance_hub (seance_support.seance_room): its course's module
    has the same two steps (and an optional notebook, never a step)."""
    return seance_room


def post(room, statements: list[dict]) -> None:
    """Each statement sent through the gate with its learner's own credentials."""
    for stmt in statements:
        name = stmt["actor"]["account"]["name"]
        user, password = lrs_keys.learner_auth(room.secret, name).split(":", 1)
        r = requests.post(room.url + "/services/lrs/xAPI/statements", json=stmt, headers=XAPI,
                          auth=(user, password), timeout=30)  # fmt: skip
        assert r.status_code == 200, r.text


def learner_state(room, name: str) -> requests.Response:
    """What a learner's server gets at INCUBO_SEANCE_URL (the service's own port, not the proxy)."""
    port = json.loads((lrs_keys.lrs_dir(room.hub_dir) / "ports.json").read_text())[
        "tableau-de-bord"
    ]
    user, password = lrs_keys.learner_auth(room.secret, name).split(":", 1)
    return requests.get(f"http://127.0.0.1:{port}{DASHBOARD}seance/apprenant",
                        auth=(user, password), timeout=10)  # fmt: skip


def within_5s(page, condition: str) -> float:
    t0 = time.monotonic()
    page.wait_for_function(condition, timeout=5000)
    return time.monotonic() - t0


def test_the_trainer_runs_a_seance_from_the_dashboard_and_the_projection_follows_live(
    room, browser
):
    ctx = browser.new_context(locale="fr-FR", bypass_csp=True)  # Playwright's waits need eval
    page = ctx.new_page()
    room.login(page, room.trainer)
    page.wait_for_load_state()
    assert page.goto(room.url + DASHBOARD).status == 200
    # open, step by step, with the keyboard only
    page.wait_for_selector("#form-ouvrir:not([hidden]) #seance-module option", state="attached")
    page.focus("#seance-module")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # « Pas à pas »
    assert page.is_checked("#seance-pas-a-pas")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # « Ouvrir une séance »
    page.wait_for_selector("#seance-ouverte:not([hidden])")
    code = page.inner_text("#seance-code")
    s = seance.load(room.hub_dir, code)
    assert s.step_by_step and s.unlocked == ["01-lecon"] and s.is_open
    assert f"Séance {code} ouverte" in page.inner_text("#seance-message")
    assert page.evaluate("document.activeElement.id") == "seance-projection"
    assert learner_state(room, "quelqu-un").json()["seance"]["etapes"] == ["01-lecon"]
    # a second séance is refused in French, as JSON; without the xsrf token nothing happens
    status, body = page.evaluate("""async () => {
        const r = await fetch('seance/ouvrir', {method: 'POST', body: JSON.stringify({module: 'essai-01'}),
          headers: {'X-XSRFToken': XSRF, 'Content-Type': 'application/json'}});
        return [r.status, await r.json()]; }""")  # fmt: skip
    assert status == 400 and f"La séance {code}" in body["erreur"] and "fermez-la" in body["erreur"]
    status = page.evaluate("""async () => (await fetch('seance/""" + code + """/fermer',
        {method: 'POST', body: '{}'})).status""")  # fmt: skip
    assert status == 403 and seance.load(room.hub_dir, code).is_open

    # the projection, in a new tab
    with ctx.expect_page() as opened:
        page.click("#seance-projection")
    proj = opened.value
    proj.wait_for_function("document.getElementById('etat').innerText.includes('Séance en cours')")
    assert code in proj.inner_text("header")
    # five learners open the lesson: the room's screen shows it within 5 s, no reload
    names = [unique_name("a") for _ in range(5)]
    post(room, [said(s, n, "experienced", kind="lecon", ident="01-lecon", homepage=room.url)
                for n in names])  # fmt: skip
    step_cells = "[...document.querySelectorAll('#etapes tbody tr')][0].cells[1].innerText"
    within_5s(proj, f"{step_cells}.startsWith('5')")
    assert "à venir" in proj.inner_text("#etapes")  # the exercises are not unlocked yet

    # a question typed on the spot
    page.select_option("#sondage-type", "choix-unique")
    page.fill("#sondage-question", "Quelle couleur ?")
    page.fill("#sondage-options", "Rouge\nVert\nBleu")
    page.fill("#sondage-correcte", "2")
    page.click("#form-tapee button[type=submit]")
    page.wait_for_function(
        "document.getElementById('seance-sondage').innerText.includes('Quelle couleur')"
    )
    within_5s(proj, "document.getElementById('sondage').innerText.includes('Quelle couleur')")
    s = seance.load(room.hub_dir, code)
    assert s.current_poll.correct == [1]
    public = learner_state(room, names[0]).json()["seance"]["sondage"]
    assert public["options"] == ["Rouge", "Vert", "Bleu"] and "correct" not in public
    # answers arrive: three on « Vert », one each on the others (groups below k=3 never apart)
    post(room, [answer(s, n, r, homepage=room.url) for n, r in zip(names, "11102", strict=True)])
    rows = "[...document.querySelectorAll('#sondage ol li')].map(li => li.innerText)"
    within_5s(proj, "document.getElementById('sondage').innerText.includes('5 réponses reçues')")
    texts = proj.evaluate(rows)
    assert "Vert\n3" in texts[1], texts
    assert "moins de 3" in texts[0] and "moins de 3" in texts[2], texts
    assert proj.get_attribute("#sondage", "aria-live") == "polite"
    # revealed when the trainer chooses
    assert not proj.query_selector("#sondage li.correcte")
    page.click("#seance-reveler")
    within_5s(proj, "!!document.querySelector('#sondage li.correcte')")
    assert "Vert" in proj.inner_text("#sondage li.correcte")
    assert "Bonne réponse : Vert" in proj.inner_text("#sondage")
    assert learner_state(room, names[0]).json()["seance"]["sondage"]["correct"] == [1]
    # next step: the exercises unlock for everyone
    page.click("#seance-suivante")
    within_5s(proj, "!document.getElementById('etapes').innerText.includes('à venir')")
    assert seance.load(room.hub_dir, code).unlocked == ["01-lecon", "02-exercices"]
    assert page.is_disabled("#seance-suivante")  # it was the last one
    # a question asked from the command line (same operations, another process) shows too
    asked = incubo("seance", "sondage", code, "--question", "q-total", env=room.env, timeout=120)
    assert asked.returncode == 0, asked.stderr
    within_5s(proj, "document.getElementById('sondage').innerText.includes('Combien font 12 + 30')")
    within_5s(page, "document.getElementById('seance-sondage').innerText.includes('Combien font')")
    s = seance.load(room.hub_dir, code)
    post(
        room,
        [
            answer(s, n, r, homepage=room.url)
            for n, r in zip(names[:4], ["42", "42", "42", "41"], strict=True)
        ],
    )
    within_5s(proj, "document.getElementById('sondage').innerText.includes('4 réponses reçues')")
    assert proj.inner_text("#sondage ul.mots") == "42 (3)"  # only groups of k or more, apart
    assert "Autres réponses : moins de 3" in proj.inner_text("#sondage")
    # no name on the room's screen, ever; readable by everyone
    shown = proj.inner_text("body") + json.dumps(proj.evaluate(
        "async () => (await fetch('donnees', {headers: {'X-XSRFToken': XSRF}})).json()"))  # fmt: skip
    assert not [n for n in names if n in shown]
    assert not axe_violations(proj)
    assert not axe_violations(page)
    # « Fermer » asks first: refused, nothing changes (a mis-click stops no séance)
    asked = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.click("#seance-fermer")
    assert asked and code in asked[0] and "Fermer la séance" in asked[0], asked
    assert seance.load(room.hub_dir, code).is_open
    assert page.locator("#form-ouvrir").is_hidden()
    # closed from the panel once confirmed: learners see no séance; the projection says it is over
    page.once("dialog", lambda d: d.accept())
    page.click("#seance-fermer")
    page.wait_for_selector("#form-ouvrir:not([hidden])")
    assert not seance.load(room.hub_dir, code).is_open
    assert learner_state(room, names[0]).json() == {"seance": None}
    within_5s(proj, "document.getElementById('etat').innerText.includes('Séance terminée')")
    assert not axe_violations(page)  # the form to open one, again
    ctx.close()


def test_a_learner_cannot_drive_a_seance(room):
    name = unique_name("a")
    session = requests.Session()
    assert room.login(session, name, PASSWORD).status_code == 302
    r = session.get(room.url + DASHBOARD + "seance/etat", timeout=60)
    assert r.status_code == 403
    r = session.post(room.url + DASHBOARD + "seance/ouvrir", json={"module": MODULE}, timeout=30)
    assert r.status_code == 403 and "réservée aux formateurs" in r.json()["erreur"]
    assert seance.current(room.hub_dir) is None
