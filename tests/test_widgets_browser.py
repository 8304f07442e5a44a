"""Every learner widget in Chromium, served by a real Voila: renders, keyboard-only quiz, axe-core."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from harness import axe_violations, free_port, http_ok, running, wait_for

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
CELLS = [
    "from incubo.widgets import demarrer, verifier, indice, solution, Quiz, Progression, Autoevaluation\n"
    'demarrer("02-exercices")',
    'total = 41\nverifier("ex-addition-1")',
    'Quiz("q-cellule")',
    'Quiz("q-types")',
    'Quiz("q-total")',
    'Quiz("q-prefecture")',
    "Progression()",
    'Autoevaluation("debut")',
]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def voila(tmp_path_factory, session_env):
    folder = tmp_path_factory.mktemp("voila") / "essai-01"
    shutil.copytree(FIXTURE, folder)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(c) for c in CELLS]
    nbformat.write(nb, folder / "widgets.ipynb")
    events_file = folder.parent / "evenements.jsonl"
    env = dict(session_env, INCUBO_EVENTS_FILE=str(events_file))
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "voila",
        str(folder / "widgets.ipynb"),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        "--show_tracebacks=True",
    ]
    url = f"http://127.0.0.1:{port}/"
    ready = (
        url + "voila/static/voila.js"
    )  # not the page itself: that would run the notebook in a kernel
    with running(
        cmd,
        env=env,
        cwd=folder,
        ready=lambda: http_ok(ready),
        timeout=120,
        log=folder.parent / "voila.log",
    ):
        yield url, events_file


@pytest.fixture(scope="module")
def rendered(voila, browser):
    url, events_file = voila
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(60_000)
    outside: list[str] = []

    def offline(route):  # the room may have no internet: nothing outside 127.0.0.1 is served
        outside.append(route.request.url)
        route.abort()

    page.route(lambda url: not url.startswith(("http://127.0.0.1", "ws://127.0.0.1")), offline)
    page.goto(url, wait_until="domcontentloaded", timeout=120_000)
    page.wait_for_selector(".incubo-autoevaluation", timeout=120_000)
    try:
        yield page, events_file, outside
    finally:
        context.close()


def test_every_widget_renders(rendered):
    page, _, outside = rendered
    for css in (".incubo-exercice", ".incubo-progression", ".incubo-autoevaluation"):
        assert page.locator(css).count() == 1, css
    assert page.locator(".incubo-quiz").count() == 4
    assert (
        "Pas encore : total devrait valoir 12 + 30."
        in page.locator(".incubo-exercice").inner_text()
    )
    assert page.get_by_role("button", name="Vérifier").count() == 1
    assert page.locator(".incubo-autoevaluation input[type=radio]").count() == 30
    # Stock Voila 0.5's lab template links Font Awesome from a CDN; nothing else may go out (our widgets never do).
    assert [u for u in outside if "fontawesome" not in u] == [], outside


def _tab_until(page, predicate_js: str, limit: int = 120) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate(predicate_js):
            return
    raise AssertionError(f"keyboard focus never reached: {predicate_js}")


def test_quiz_answered_with_the_keyboard_alone(rendered):
    page, events_file, _ = rendered
    quiz = page.locator(".incubo-quiz").nth(0)
    in_quiz0 = "document.activeElement.closest('.incubo-quiz') === document.querySelectorAll('.incubo-quiz')[0]"
    page.locator("body").click(position={"x": 1, "y": 1})  # start from the top of the page
    valider = f"{in_quiz0} && document.activeElement.textContent.includes('Valider')"
    # ipywidgets' radios are each a tab stop: Tab to an option, Space to choose it, Tab to « Valider », Enter
    _tab_until(
        page,
        f"{in_quiz0} && decodeURIComponent(document.activeElement.dataset.value || '') === 'Double-clic'",
    )
    page.keyboard.press("Space")
    _tab_until(page, valider, limit=10)
    page.keyboard.press("Enter")
    wait_for(
        lambda: "ouvre la cellule en édition" in quiz.inner_text(),
        timeout=30,
        what="feedback on the wrong option",
    )
    for _ in range(10):  # back up to the right option, and try again
        page.keyboard.press("Shift+Tab")
        if page.evaluate(
            f"{in_quiz0} && decodeURIComponent(document.activeElement.dataset.value || '') === 'Maj + Entrée'"
        ):
            break
    page.keyboard.press("Space")
    _tab_until(page, valider, limit=10)
    page.keyboard.press("Enter")
    wait_for(lambda: "Oui !" in quiz.inner_text(), timeout=30, what="feedback on the right option")
    assert "Explication" in quiz.inner_text()

    def answers():
        if not events_file.exists():
            return []
        return [
            json.loads(line)
            for line in events_file.read_text().splitlines()
            if '"answered"' in line or "/answered" in line
        ]

    done = wait_for(
        lambda: (
            [s for s in answers() if s["object"]["id"].endswith("/quiz/q-cellule")][-2:] or None
        ),
        timeout=30,
        what="answered statements",
    )
    assert [s["result"]["success"] for s in done] == [False, True]

    # a number typed on the keyboard
    number = page.locator(".incubo-quiz").nth(2)
    in_quiz2 = "document.activeElement.closest('.incubo-quiz') === document.querySelectorAll('.incubo-quiz')[2]"
    _tab_until(page, f"{in_quiz2} && document.activeElement.tagName === 'INPUT'")
    page.keyboard.type("42,2")
    _tab_until(
        page, f"{in_quiz2} && document.activeElement.textContent.includes('Valider')", limit=3
    )
    page.keyboard.press("Enter")
    wait_for(
        lambda: "Bonne réponse" in number.inner_text(),
        timeout=30,
        what=f"number quiz feedback ({number.inner_text()!r})",
    )


def test_no_serious_or_critical_axe_violation(rendered):
    page, _, _ = rendered
    violations = axe_violations(page)
    summary = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
    assert violations == [], summary
