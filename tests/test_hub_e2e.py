"""A session in the room, end to end, in Chromium through the proxy (issue 12, point 7).

One hub, one scenario test whose steps run in the order of a real session
(each needs what the one before left: a login, a run, a submission), each
named in the output and in the failure it raises:
the trainer releases a module, two learners log in for real, find it in their
home, run a lesson cell, click « Vérifier » on an exercise and hand in from
« Mes modules » (incubo's panel: nbgrader's Assignment List is off for
learners); the trainer opens the formgrader, collects, grades and returns
feedback with `incubo grade`; each learner opens their own feedback from
« Mes modules »; a learner is refused the formgrader and the other
learner's server and files. Every hub page met on the way passes axe-core.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from harness import ROOT, axe_violations, incubo
from hub_support import shared_tmp, start_hub, unique_name

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODULE = "salle-01"
LAB_TIMEOUT = 180_000
#: The notebook on screen: JupyterLab hides the other open tabs' panels (class lm-mod-hidden).
ON_SCREEN = ".jp-NotebookPanel:not(.lm-mod-hidden)"


@pytest.fixture(scope="module")
def room():
    """A built course, the hub started on it, the module released by the trainer's command."""
    base = shared_tmp("incubo-e2e-")
    course = base / "cours"
    trainer, learners = unique_name("f"), [unique_name("a"), unique_name("b")]
    try:
        built = incubo(
            "build", "--courses", ROOT / "tests" / "fixtures" / "hub", "--course-dir", course
        )
        assert built.returncode == 0, built.stderr
        with start_hub(formateurs=[trainer], course_dir=course) as hub:
            released = incubo("grade", "release", MODULE, "--course-dir", course, env=hub.env)
            assert released.returncode == 0, released.stderr
            yield SimpleNamespace(hub=hub, course=course, trainer=trainer, learners=learners)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def pages(room, browser):
    """One browser context (one person at their own PC) per user."""
    contexts = {
        name: browser.new_context(locale="fr-FR") for name in [room.trainer, *room.learners]
    }
    result = {}
    for name, ctx in contexts.items():
        result[name] = ctx.new_page()
        result[name].set_default_timeout(60_000)
    yield result
    for ctx in contexts.values():
        ctx.close()


def no_axe_violation(page) -> None:
    assert axe_violations(page) == [], page.url


def open_in_lab(room, page, name: str, path: str):
    """Open `path` in the learner's JupyterLab; return the notebook on screen once its kernel is ready.

    Two traps: the notebooks of earlier visits are restored in the page too, hidden (so no bare
    `.first` on cells or indicators), and the toolbar's execution indicator says « idle » before any
    kernel is there (a run asked then is lost). The status bar's kernel item names the notebook on
    screen and says « Inactif » only once its kernel is connected and idle.
    """
    page.goto(f"{room.hub.url}/user/{name}/lab/tree/{path}")
    kernel = page.locator(f"#jp-main-statusbar [title='Changer de noyau pour {Path(path).name}']")
    kernel.filter(has_text="| Inactif").wait_for(timeout=LAB_TIMEOUT)
    notebook = page.locator(ON_SCREEN)
    notebook.locator(".jp-Cell").first.wait_for(timeout=LAB_TIMEOUT)
    return notebook


def run_all_cells(page, expected) -> None:
    """Menu « Exécution › Exécuter toutes les cellules », as a learner would, until `expected` shows.

    A run asked while JupyterLab is still connecting its kernel is lost: try again then.
    """
    dialogs = []
    for attempt in range(3):
        dialogs.append(accept_dialog(page))
        page.locator(".lm-MenuBar-itemLabel:text-is('Exécution')").click()
        page.locator(".lm-Menu-itemLabel:text-is('Exécuter toutes les cellules')").click()
        try:
            expected.first.wait_for(timeout=45_000)
            return
        except Exception:
            if attempt == 2:
                page.screenshot(path=str(Path(tempfile.gettempdir()) / "incubo-e2e-echec.png"))
                raise AssertionError(
                    f"no result after three runs; dialogs met: {dialogs}"
                ) from None


def accept_dialog(page) -> str:
    """A JupyterLab dialog in the way (the kernel choice while it connects): accept it, say which."""
    texts = []
    dialog = page.locator(".jp-Dialog")
    for _ in range(5):
        if not (dialog.count() and dialog.first.is_visible()):
            break
        shown = dialog.first.element_handle()
        texts.append(shown.inner_text())
        dialog.first.locator("button.jp-mod-accept").last.click()
        shown.wait_for_element_state("hidden", timeout=30_000)  # another may follow: look again
    else:
        raise AssertionError(f"a JupyterLab dialog stays open: {texts[-1]!r}")
    return " | ".join(texts)


def mes_modules(room, page, name: str):
    """« Mes modules » in the learner's JupyterLab (left side bar): the module's item."""
    page.goto(f"{room.hub.url}/user/{name}/lab")
    page.locator(".jp-SideBar li[data-id='incubo-mes-modules']").click(timeout=LAB_TIMEOUT)
    item = page.locator(f"#incubo-mes-modules li[data-module='{MODULE}']")
    item.wait_for()
    return item


def login_page_french_and_accessible(room, pages):
    page = pages[room.learners[0]]
    page.goto(f"{room.hub.url}/hub/login")
    assert page.locator("html").get_attribute("lang") == "fr"
    no_axe_violation(page)


def learners_log_in_and_find_the_course(room, pages):
    first, *others = room.learners
    page = pages[first]
    page.route("**/progress", lambda route: route.abort())  # hold the waiting page to check it
    room.hub.login(page, first)
    page.wait_for_url("**/spawn-pending/**")
    for name in others:  # the others log in meanwhile, as in a room at 9:00: servers start together
        room.hub.login(pages[name], name)
        pages[name].wait_for_url("**/spawn-pending/**")
    no_axe_violation(page)
    page.unroute("**/progress")
    for name in room.learners:
        page = pages[name]
        page.goto(f"{room.hub.url}/user/{name}/lab/tree/incubo/{MODULE}")
        listing = page.locator(".jp-DirListing-content")
        listing.get_by_text("01-lecon.ipynb").wait_for(timeout=LAB_TIMEOUT)
        assert "02-exercices.ipynb" in listing.inner_text()


def learners_run_a_lesson_cell(room, pages):
    for name in room.learners:
        page = pages[name]
        notebook = open_in_lab(room, page, name, f"incubo/{MODULE}/01-lecon.ipynb")
        run_all_cells(
            page, notebook.locator(".jp-OutputArea-output").get_by_text("Bonjour la salle")
        )


def learners_click_verifier_on_an_exercise(room, pages):
    for name in room.learners:
        page = pages[name]
        notebook = open_in_lab(room, page, name, f"incubo/{MODULE}/02-exercices.ipynb")
        answer = notebook.locator(".jp-Cell").filter(has_text="NotImplementedError").first
        answer.locator(".cm-content").click()
        page.keyboard.press("Control+a")
        page.keyboard.type("total = 12 + 30")
        button = notebook.get_by_role("button", name="Vérifier")
        run_all_cells(page, button)
        button.click()
        notebook.locator(".incubo-exercice").get_by_text("Bravo").first.wait_for(timeout=60_000)
        page.keyboard.press("Control+s")
        page.wait_for_function(
            "() => !document.querySelector('.jp-mod-current.jp-mod-dirty')", timeout=30_000
        )


def learners_hand_in_from_mes_modules(room, pages):
    for name in room.learners:
        page = pages[name]
        item = mes_modules(room, page, name)
        item.get_by_role("button", name="Rendre mon travail", exact=False).click()
        page.locator(".jp-Dialog").get_by_role("button", name="Rendre").click()
        item.locator(".incubo-etat", has_text="rendu").wait_for(timeout=60_000)


def learners_see_no_instructor_tools(room, pages):
    page = pages[room.learners[0]]
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    disabled = set(config.get("disabledExtensions", []))
    for plugin in ("formgrader", "course-list", "create-assignment", "validate-assignment"):
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    for plugin in ("assignment-list", "menu"):  # « Mes modules » instead
        assert f"@jupyter/nbgrader:{plugin}" in disabled
    r = page.request.get(f"{room.hub.url}/user/{room.learners[0]}/formgrader")
    assert r.status == 404


def trainer_opens_the_formgrader(room, pages):
    page = pages[room.trainer]
    room.hub.login(page, room.trainer)
    page.wait_for_url(f"**/user/{room.trainer}/**", timeout=LAB_TIMEOUT)
    config_text = page.goto(f"{room.hub.url}/user/{room.trainer}/lab")
    assert config_text.status == 200
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    assert "@jupyter/nbgrader:course-list" not in set(config.get("disabledExtensions", []))
    response = page.goto(f"{room.hub.url}/services/incubo/")
    assert response.status == 200
    page.wait_for_url("**/services/incubo/formgrader**")
    page.get_by_text(MODULE).first.wait_for()


def trainer_collects_grades_and_releases_feedback(room, pages):
    for step in (["collect", MODULE], ["autograde", MODULE], ["feedback", MODULE, "--release"]):
        done = incubo("grade", *step, "--course-dir", room.course, env=room.hub.env)
        assert done.returncode == 0, done.stdout + done.stderr
    for name in room.learners:
        assert (room.course / "submitted" / name / MODULE / "02-exercices.ipynb").is_file()
        assert (room.course / "feedback" / name / MODULE / "02-exercices.html").is_file()


def each_learner_reads_their_own_feedback(room, pages):
    for name, other in (room.learners, room.learners[::-1]):
        page = pages[name]
        item = mes_modules(room, page, name)
        item.locator(".incubo-etat", has_text="corrigé").wait_for(timeout=60_000)
        with page.context.expect_page() as opened:
            item.get_by_role("link", name="Voir le retour", exact=False).click()
        feedback = opened.value
        feedback.get_by_role("link", name="02-exercices", exact=False).or_(
            feedback.get_by_role("link", name="exercice", exact=False)
        ).first.click()
        feedback.wait_for_url("**/retour/02-exercices")
        text = feedback.inner_text("body")
        assert name in text and other not in text
        feedback.close()


def learner_refused_formgrader_and_other_learner(room, pages):
    name, other = room.learners
    page = pages[name]
    response = page.goto(f"{room.hub.url}/services/incubo/")
    assert response.status == 403
    assert page.locator("html").get_attribute("lang") == "fr"
    no_axe_violation(page)
    for path in (
        f"/user/{other}/lab",
        f"/user/{other}/api/contents/incubo/{MODULE}",
        f"/user/{other}/files/incubo/{MODULE}/02-exercices.ipynb",
    ):
        response = page.goto(f"{room.hub.url}{path}")
        assert response.status in (403, 404), (path, response.status)
        assert "total = 12 + 30" not in page.content()


def hub_home_and_error_pages_accessible(room, pages):
    page = pages[room.learners[0]]
    page.goto(f"{room.hub.url}/hub/home")
    no_axe_violation(page)
    response = page.goto(f"{room.hub.url}/hub/cette-page-n-existe-pas")
    assert response.status == 404
    no_axe_violation(page)
    assert requests.get(f"{room.hub.url}/hub/login", timeout=30).status_code == 200


SESSION = (
    login_page_french_and_accessible,
    learners_log_in_and_find_the_course,
    learners_run_a_lesson_cell,
    learners_click_verifier_on_an_exercise,
    learners_hand_in_from_mes_modules,
    learners_see_no_instructor_tools,
    trainer_opens_the_formgrader,
    trainer_collects_grades_and_releases_feedback,
    each_learner_reads_their_own_feedback,
    learner_refused_formgrader_and_other_learner,
    hub_home_and_error_pages_accessible,
)


def test_a_session_in_the_room(room, pages):
    """The steps of a session in order; the first that fails is named, the later ones not run."""
    for number, step in enumerate(SESSION, 1):
        title = f"step {number}/{len(SESSION)}: {step.__name__.replace('_', ' ')}"
        started = time.monotonic()
        try:
            step(room, pages)
        except Exception as error:
            raise AssertionError(f"{title} failed: {error}") from error
        print(f"{title} ({time.monotonic() - started:.1f} s)", flush=True)
