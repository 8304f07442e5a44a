"""The séance in the learner's own JupyterLab: the server extension and the lab panel (labextension/).

A plain `jupyter lab` (not the hub) started the way the hub starts a learner's
server as far as the séance goes: the hub's Jupyter config folder on
`JUPYTER_CONFIG_PATH`, `learner_env()` (JUPYTER_PATH with `incubo/share`), and
`INCUBO_SEANCE_URL` pointing at a small stand-in of the dashboard service's
`seance/apprenant` endpoint serving the real `Seance.learner_state()`. The real
service and hub are exercised by the séance's end-to-end test.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
import pytest
import requests
from harness import BIN, ROOT, free_port, http_ok, running, wait_for

from incubo import xapi
from incubo.hub import seance_panel
from incubo.hub.seance_panel import AnswerRefused, answer_statement, sync_module
from incubo.seance import Poll, Seance

TOKEN = "jeton-seance"
COURSE = "cours-test"
MODULE = "mod-dates"
AUTH = "apprenant-1:secret-de-test"
LABEXT = ROOT / "incubo" / "share" / "labextensions" / "@incubo" / "labextension"


def make_seance(**changes) -> Seance:
    s = Seance(
        code="KT7MQA",
        registration="6f1c2a3b-1d2e-4f50-8a6b-7c8d9e0f1a2b",
        module=MODULE,
        parcours="donnees",
        title="Dates et jours ouvrés",
        opened_at="2026-12-01T10:00:00.000Z",
        steps=["01-lecon", "02-exercices"],
        step_titles={
            "01-lecon": "Les dates",
            "02-exercices": "Exercices : jours ouvrés",
            "03-bonus": "Pour aller plus loin : fériés",
        },
        step_by_step=True,
        step=0,
        optional=["03-bonus"],
    )
    for k, v in changes.items():
        setattr(s, k, v)
    return s


def poll(kind: str = "choix-unique", **changes) -> Poll:
    p = Poll(
        id="q1",
        kind=kind,
        question="Quel jour tombe le 1er mai 2026 ?",
        options=["Jeudi", "Vendredi", "Samedi"] if kind.startswith("choix") else [],
        correct=[1] if kind.startswith("choix") else None,
        launched_at="2026-12-01T10:05:00.000Z",
    )
    for k, v in changes.items():
        setattr(p, k, v)
    return p


def outbound(home: Path) -> Path:
    """The learner's exchange view of the released module (a plain folder here)."""
    folder = home / ".incubo" / "echange" / COURSE / "outbound" / MODULE
    folder.mkdir(parents=True, exist_ok=True)
    for name, title in (
        ("01-lecon", "Les dates"),
        ("02-exercices", "Exercices : jours ouvrés"),
        ("03-bonus", "Pour aller plus loin : fériés"),
    ):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {title}")])
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, folder / f"{name}.ipynb")
    sidecar = {
        "format": 1,
        "parcours": "donnees",
        "module": MODULE,
        "notebooks": {
            "01-lecon": {"titre": "Les dates"},
            "02-exercices": {"titre": "Exercices : jours ouvrés", "type": "exercices"},
            "03-bonus": {"titre": "Pour aller plus loin : fériés", "optionnel": True},
        },
        "exercices": {
            "ex-jour": {"notebook": "01-lecon"},
            "ex-ouvres": {"notebook": "02-exercices"},
            "ex-feries": {"notebook": "03-bonus"},
        },
    }
    (folder / "incubo_exercices.json").write_text(json.dumps(sidecar), encoding="utf-8")
    (folder / "donnees").mkdir(exist_ok=True)
    (folder / "donnees" / "jours.csv").write_text("jour\n2026-05-01\n", encoding="utf-8")
    return folder


def passed(ex: str) -> dict:
    return xapi.statement("passed", parcours="donnees", module=MODULE, kind="exercice", ident=ex)


# --- units ------------------------------------------------------------------------------------


def test_the_lab_extension_is_what_jupyterlab_loads():
    """The built extension (labextension/, `make labextension`) names files that exist, each named by
    its content's hash (no stale cache), and JupyterLab finds it through the learner's JUPYTER_PATH."""
    from jupyterlab_server.config import get_federated_extensions

    data = json.loads((LABEXT / "package.json").read_text("utf-8"))
    build = data["jupyterlab"]["_build"]
    script = LABEXT / build["load"]
    assert build["extension"] == "./extension" and script.is_file()
    for chunk in (LABEXT / "static").glob("*.js"):
        if chunk.name != "style.js":
            assert chunk.stem.rsplit(".", 1)[-1].isalnum() and "." in chunk.stem, chunk.name
    text = "".join(p.read_text("utf-8") for p in (LABEXT / "static").glob("*.js"))
    assert "@incubo/labextension:seance" in text and "incubo-seance-panel" in text
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    env = seance_panel.learner_env(COURSE, "http://service/seance/")
    found = get_federated_extensions(
        [os.path.join(p, "labextensions") for p in env["JUPYTER_PATH"].split(os.pathsep)]
    )
    assert found["@incubo/labextension"]["ext_path"] == str(LABEXT)
    assert (
        env["INCUBO_COURSE_ID"] == COURSE and env["INCUBO_SEANCE_URL"] == "http://service/seance/"
    )


def test_an_answer_becomes_an_answered_statement_on_the_polls_activity(monkeypatch):
    monkeypatch.setenv("INCUBO_REGISTRATION", "cohorte-2026")  # kept aside, as the gate does
    s = make_seance(polls=[poll("choix-multiple")], active_poll="q1")
    state = json.loads(json.dumps(s.learner_state()))
    stmt, response = answer_statement(state, {"sondage": "q1", "reponse": [2, 0]})
    assert response == "0[,]2"
    assert stmt["verb"]["id"] == xapi.VERBS["answered"]
    assert stmt["object"]["id"] == s.polls[0].activity(s)
    assert stmt["context"]["registration"] == s.registration
    assert xapi.extension_of(stmt, "registration-cohorte") == "cohorte-2026"
    assert stmt["result"] == {"response": "0[,]2"}
    s = make_seance(polls=[poll("nombre")], active_poll="q1")
    assert answer_statement(s.learner_state(), {"sondage": "q1", "reponse": " 3,5 "})[1] == "3.5"
    s = make_seance(polls=[poll("mot")], active_poll="q1")
    assert (
        answer_statement(s.learner_state(), {"sondage": "q1", "reponse": "  Férié  "})[1] == "Férié"
    )


@pytest.mark.parametrize(
    ("state", "body", "fragment"),
    [
        (None, {"sondage": "q1", "reponse": 0}, "Aucune séance"),
        ("choix-unique", {"sondage": "q0", "reponse": 0}, "terminé"),
        ("choix-unique", {"reponse": 0}, "illisible"),
        ("choix-unique", [1], "illisible"),
        ("choix-unique", {"sondage": "q1", "reponse": 7}, "Choisissez une des réponses"),
        ("choix-unique", {"sondage": "q1", "reponse": [0, 1]}, "Une seule réponse"),
        ("nombre", {"sondage": "q1", "reponse": "douze"}, "Écrivez un nombre"),
        ("mot", {"sondage": "q1", "reponse": "   "}, "Écrivez un mot"),
        ("closed", {"sondage": "q1", "reponse": 0}, "terminé"),
    ],
)
def test_a_malformed_or_late_answer_is_refused_in_french(state, body, fragment):
    if state == "closed":
        s = make_seance(polls=[poll(closed_at="2026-12-01T10:06:00Z")], active_poll="q1")
    elif state:
        s = make_seance(polls=[poll(state)], active_poll="q1")
    with pytest.raises(AnswerRefused, match=fragment):
        answer_statement(s.learner_state() if state else None, body)


def test_unlocked_steps_are_copied_never_over_the_learners_files(tmp_path):
    home = tmp_path
    outbound(home)
    dest = home / COURSE / MODULE
    dest.mkdir(parents=True)
    (dest / "01-lecon.ipynb").write_text("le travail de l'apprenant", encoding="utf-8")
    state = make_seance().learner_state()
    copied = sync_module(home, COURSE, state, optional_too=False)
    assert sorted(copied) == ["donnees", "incubo_exercices.json"]
    assert (dest / "01-lecon.ipynb").read_text("utf-8") == "le travail de l'apprenant"
    assert not (dest / "02-exercices.ipynb").exists() and not (dest / "03-bonus.ipynb").exists()
    state = make_seance(step=1).learner_state()
    assert sync_module(home, COURSE, state, optional_too=False) == ["02-exercices.ipynb"]
    assert sync_module(home, COURSE, state, optional_too=True) == ["03-bonus.ipynb"]
    assert sync_module(home, COURSE, state, optional_too=True) == []
    assert not list(dest.glob(".*partiel"))
    assert sync_module(home, COURSE, dict(state, module="../x"), optional_too=True) == []


def test_optional_notebooks_wait_for_every_exercise_of_the_unlocked_steps(tmp_path, monkeypatch):
    import asyncio

    from incubo import events

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "journal.jsonl"))
    monkeypatch.delenv("INCUBO_LRS_URL", raising=False)
    monkeypatch.setattr(seance_panel, "JOURNAL_EVERY", 0)
    outbound(tmp_path)
    state = make_seance(step=1).learner_state()
    learner = seance_panel.Learner()
    earned = lambda: asyncio.run(learner.optional_earned(tmp_path, COURSE, state))  # noqa: E731
    assert not earned()
    events.append_jsonl(tmp_path / "journal.jsonl", passed("ex-jour"))
    assert not earned()
    events.append_jsonl(tmp_path / "journal.jsonl", passed("ex-ouvres"))
    assert earned()  # ex-feries is the optional notebook's own: not needed


def test_optional_notebooks_also_count_exercises_passed_in_the_lrs(tmp_path, monkeypatch):
    """A `passed` known only to the LRS (graded on the hub) counts; read with the learner's own credentials."""
    import asyncio

    seen: list[str] = []

    class Lrs(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            answered = xapi.statement("answered", parcours="donnees", module=MODULE)
            body = {"statements": [passed("ex-jour"), passed("ex-ouvres"), answered]}
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps(body).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Lrs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HOME", str(tmp_path))
        monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "journal.jsonl"))
        monkeypatch.setenv("INCUBO_LRS_URL", f"http://127.0.0.1:{server.server_port}/services/lrs/")
        monkeypatch.setenv("INCUBO_LRS_AUTH", AUTH)
        monkeypatch.setattr(seance_panel, "JOURNAL_EVERY", 0)
        outbound(tmp_path)
        state = make_seance(step=1).learner_state()
        learner = seance_panel.Learner()
        assert asyncio.run(learner.optional_earned(tmp_path, COURSE, state))
        assert seen == ["Basic " + base64.b64encode(AUTH.encode()).decode()]
    finally:
        server.shutdown()


# --- a real JupyterLab, a stand-in for the room's service, Chromium ----------------------------


class Service:
    """The dashboard service's `seance/apprenant` as a learner's server sees it (stand-in)."""

    def __init__(self) -> None:
        self.seance: Seance | None = None
        self.calls: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/tableau-de-bord/seance/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                expected = "Basic " + base64.b64encode(AUTH.encode()).decode()
                service.calls.append(self.path)
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.end_headers()
                    return
                s = service.seance
                body = json.dumps({"seance": s.learner_state() if s else None}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


def test_the_services_state_is_cached_refused_credentials_show_nothing(monkeypatch):
    import asyncio

    service = Service()
    service.seance = make_seance()
    monkeypatch.setenv("INCUBO_SEANCE_URL", service.url)
    monkeypatch.setattr(seance_panel, "CACHE_SECONDS", 0.2)

    async def scenario():
        source = seance_panel.Source()
        monkeypatch.setenv("INCUBO_LRS_AUTH", "quelqu-un:mauvais")
        refused = await source.get()
        monkeypatch.setenv("INCUBO_LRS_AUTH", AUTH)
        await asyncio.sleep(0.3)
        first = await source.get()
        calls = len(service.calls)
        again = await asyncio.gather(*(source.get() for _ in range(5)))
        cached = len(service.calls) - calls
        service.server.shutdown()
        service.server.server_close()
        await asyncio.sleep(0.3)
        stale = await source.get()  # the service stops answering: the last state stays a while
        return refused, first, again, cached, stale

    refused, first, again, cached, stale = asyncio.run(scenario())
    assert refused is None
    assert first["code"] == "KT7MQA" and all(a == first for a in again) and cached == 0
    assert stale == first


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    from harness import isolated_env

    from incubo.hub.services import parcours_page_config

    base = tmp_path_factory.mktemp("seance-lab")
    env = isolated_env(base / "env")
    home = Path(env["HOME"])
    outbound(home)
    service = Service()
    env.update(seance_panel.learner_env(COURSE, service.url))
    env.update(
        JUPYTER_CONFIG_PATH=str(parcours_page_config()),
        INCUBO_LRS_AUTH=AUTH,
        JUPYTERHUB_USER="apprenant-1",
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        BIN / "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        f"--port={port}",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.token={TOKEN}",
        f"--ServerApp.root_dir={home}",
    ]
    with running(
        cmd,
        env=env,
        cwd=home,
        ready=lambda: http_ok(f"{url}/api/status?token={TOKEN}"),
        log=base / "lab.log",
        timeout=120,
    ):
        yield {"url": url, "home": home, "service": service, "env": env, "log": base / "lab.log"}
    service.server.shutdown()


def api(lab, method: str = "GET", path: str = "incubo/seance", **kwargs) -> requests.Response:
    return requests.request(
        method,
        f"{lab['url']}/{path}",
        headers={"Authorization": f"token {TOKEN}"},
        timeout=20,
        **kwargs,
    )


def journal(lab) -> list[dict]:
    path = Path(lab["env"]["INCUBO_EVENTS_FILE"])
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_the_servers_api_proxies_the_service_and_checks_answers(lab):
    service = lab["service"]
    service.seance = None
    assert api(lab).json() == {"seance": None}
    assert service.calls and service.calls[-1] == "/services/tableau-de-bord/seance/apprenant"
    assert requests.get(f"{lab['url']}/incubo/seance", timeout=10).status_code == 403
    service.seance = make_seance(polls=[poll("nombre")], active_poll="q1")
    # the panel's cache forgets the empty answer after CACHE_SECONDS: the séance shows then
    state = wait_for(
        lambda: api(lab).json()["seance"], timeout=seance_panel.CACHE_SECONDS + 10, what="la séance"
    )
    assert state["code"] == "KT7MQA" and state["sondage"]["type"] == "nombre"
    assert "correct" not in state["sondage"]
    assert state["chemins"] == {"01-lecon": f"{COURSE}/{MODULE}/01-lecon.ipynb"}
    assert (lab["home"] / COURSE / MODULE / "donnees" / "jours.csv").is_file()
    before = len(service.calls)
    for _ in range(5):  # thirty labs polling every 2 s: the service is asked once a second at most
        api(lab)
    assert len(service.calls) - before <= 2
    refused = api(lab, "POST", "incubo/seance/reponse", json={"sondage": "q1", "reponse": "x"})
    assert refused.status_code == 400 and "Écrivez un nombre" in refused.json()["erreur"]
    late = api(lab, "POST", "incubo/seance/reponse", json={"sondage": "q9", "reponse": "1"})
    assert late.status_code == 400 and "terminé" in late.json()["erreur"]
    # a browser's POST without the _xsrf token is refused (cookie-authenticated requests)
    session = requests.Session()
    session.get(f"{lab['url']}/lab?token={TOKEN}", timeout=30)
    forged = session.post(
        f"{lab['url']}/incubo/seance/reponse", json={"sondage": "q1", "reponse": "1"}, timeout=10
    )
    assert forged.status_code == 403
    assert not [s for s in journal(lab) if s["verb"]["id"] == xapi.VERBS["answered"]]


def panel_violations(page) -> list:
    """axe-core's serious and critical violations inside the séance panel (JupyterLab's own are not ours)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(ROOT / "node_modules" / "axe-core" / "axe.min.js"))
    return page.evaluate(
        "async () => (await axe.run('#incubo-seance-panel', {resultTypes: ['violations']}))"
        ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => [v.id, v.nodes.map(n => n.html)])"
    )


@pytest.mark.browser
def test_the_learner_sees_the_poll_answers_by_keyboard_and_gets_the_next_step(lab, page):
    service, home = lab["service"], lab["home"]
    service.seance = None
    polled = lambda r: r.method == "GET" and r.url.endswith("/incubo/seance")  # noqa: E731
    with page.expect_request_finished(polled, timeout=90_000):  # the panel's first poll, answered
        page.goto(f"{lab['url']}/lab?token={TOKEN}")
        page.locator("#jp-main-dock-panel").wait_for(timeout=90_000)
        page.wait_for_function("() => document.querySelector('#jp-right-stack') !== null")
    assert page.locator("#incubo-seance-panel").count() == 0, "panneau visible sans séance"

    # 1. the trainer opens the séance and launches a question: shown within 5 s, no reload
    s = make_seance(polls=[poll()], active_poll="q1")
    service.seance = s
    started = time.monotonic()
    panel = page.get_by_role("region", name="Séance en cours")
    panel.get_by_text("Quel jour tombe le 1er mai 2026 ?", exact=True).wait_for(timeout=5_000)
    assert time.monotonic() - started < 5
    banner = panel.locator(".incubo-seance-bandeau").inner_text()
    assert banner == "Séance en cours : Dates et jours ouvrés — code KT7MQA", banner

    # 2. answered with the keyboard only: arrows in the radio group, Tab to the button, Enter
    panel.get_by_label("Jeudi").focus()
    page.keyboard.press("Space")
    page.keyboard.press("ArrowDown")
    assert panel.get_by_label("Vendredi").is_checked()
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent")
    assert focused == "Répondre"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "focus invisible"
    page.keyboard.press("Enter")
    panel.get_by_text("Réponse envoyée").wait_for(timeout=10_000)
    if os.environ.get("INCUBO_TEST_SCREENSHOTS"):
        page.screenshot(path=os.environ["INCUBO_TEST_SCREENSHOTS"] + "/seance-sondage.png")
    answered = [s for s in journal(lab) if s["verb"]["id"] == xapi.VERBS["answered"]]
    assert len(answered) == 1
    assert answered[0]["object"]["id"] == s.polls[0].activity(s)
    assert answered[0]["context"]["registration"] == s.registration
    assert answered[0]["result"]["response"] == "1"
    assert answered[0]["actor"]["account"]["name"] == "apprenant-1"

    assert panel_violations(page) == []

    # 3. the trainer reveals the answer
    s.polls[0].revealed = True
    panel.get_by_text("Bonne réponse : Vendredi").wait_for(timeout=5_000)

    # a word, typed and sent with Enter; then the trainer takes the question off the screens
    s.polls.append(poll("mot", id="q2", question="Un jour où l'on ne travaille pas ?"))
    s.active_poll = "q2"
    field = panel.get_by_label("Votre réponse (un mot) :")
    field.wait_for(timeout=5_000)
    assert panel.locator(".incubo-seance-etat").inner_text() == ""
    field.focus()
    page.keyboard.type("  Férié ")
    page.keyboard.press("Enter")
    panel.get_by_text("Réponse envoyée").wait_for(timeout=10_000)
    word = [x for x in journal(lab) if x["object"]["id"] == s.polls[1].activity(s)]
    assert [x["result"]["response"] for x in word] == ["Férié"]
    s.active_poll = None
    panel.get_by_role("heading", name="Question").wait_for(state="detached", timeout=5_000)

    # 4. next step: copied into the learner's home, announced, opened from the link by keyboard
    s.step = 1
    link = panel.locator(".incubo-seance-annonce").get_by_role(
        "link", name="Exercices : jours ouvrés"
    )
    link.wait_for(timeout=5_000)
    assert "Nouvelle étape disponible" in panel.locator(".incubo-seance-annonce").inner_text()
    assert panel.locator(".incubo-seance-annonce").get_attribute("aria-live") == "polite"
    assert (home / COURSE / MODULE / "02-exercices.ipynb").is_file()
    assert not (home / COURSE / MODULE / "03-bonus.ipynb").exists()
    link.focus()
    page.keyboard.press("Enter")
    page.get_by_role("tab", name="02-exercices.ipynb").wait_for(timeout=30_000)

    # 5. finished early: the optional notebook arrives, not a later step
    from incubo import events

    for ex in ("ex-jour", "ex-ouvres"):
        events.append_jsonl(Path(lab["env"]["INCUBO_EVENTS_FILE"]), passed(ex))
    panel.get_by_text("Exercice supplémentaire disponible").wait_for(timeout=10_000)
    assert (home / COURSE / MODULE / "03-bonus.ipynb").is_file()

    assert panel_violations(page) == []  # with the steps' links and the announcement
    if os.environ.get("INCUBO_TEST_SCREENSHOTS"):
        page.screenshot(path=os.environ["INCUBO_TEST_SCREENSHOTS"] + "/seance-etapes.png")

    # 6. the séance closes: the panel goes away
    service.seance = None
    page.locator("#incubo-seance-panel").wait_for(state="detached", timeout=10_000)
