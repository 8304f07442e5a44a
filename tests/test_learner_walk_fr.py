"""No English on a learner's screens (issue 20, point 4): a walk in Chromium through a real hub.

A learner logs in to a room (the hub fixture's parcours, a module released, a séance open) and
meets every screen of a day, in order, as `Screen(name, how_to_reach)`: the login page (and its
refusal), the waiting page while their server starts, the RGPD notice, « Commencez ici », a
lesson in JupyterLab, an exercise with its check run, a kernel restart's confirmation,
« Commencez ici.ipynb », the file browser and its context menu, the launcher, the side panels,
each menu, « Mes modules » (the hand-in's confirmation, « rendu », then « corrigé » once the
trainer's commands have graded and released the feedback), the feedback and a notebook's feedback,
« Mon parcours », the hub's home and its page not found, the séance panel, a page of their server
that does not exist, the page of a stopped server, logout.
On each, `french_screens.problems`: no known English label, no word unknown to hunspell-fr. Every
problem of the walk is reported at the end, with its screen and where it is.
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from french_screens import english_in, problems
from harness import ROOT, http_ok, incubo, wait_for
from hub_support import shared_tmp, start_hub, unique_name

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODULE = "salle-01"
LAB_TIMEOUT = 180_000
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


@dataclass(frozen=True)
class Screen:
    name: str
    how_to_reach: Callable  # (page, room) → None, the screen on show once it returns


@pytest.fixture(scope="module")
def room():
    """The hub fixture's parcours built, its module released, a learner's name; a séance opens later."""
    base = shared_tmp("incubo-ecrans-")
    sources, course = base / "sources", base / "cours"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hub" / "salle", sources / "salle")
    try:
        built = incubo("build", "--courses", sources, "--course-dir", course)
        assert built.returncode == 0, built.stderr
        with start_hub(course_dir=course) as hub:
            released = incubo("grade", "release", MODULE, "--course-dir", course, env=hub.env)
            assert released.returncode == 0, released.stderr
            wait_for(  # the notice and « Mon parcours » read the learner's traces from it
                lambda: http_ok(f"{hub.url}/services/lrs/__heartbeat__"),
                timeout=120,
                what="Ralph behind the gate",
            )
            yield SimpleNamespace(hub=hub, course=course, learner=unique_name("a"))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_the_learners_kernel_is_python_3_with_french_help_links(tmp_path, monkeypatch):
    """The kernel the hub gives learners (hub/jupyter-data): its name and the « Aide » menu's links.

    First in this file: jupyter_client's sync API cannot run beside Playwright's event loop.
    """
    from harness import isolated_env
    from jupyter_client.manager import start_new_kernel

    env = isolated_env(tmp_path / "env")
    env["JUPYTER_PATH"] = str(ROOT / "hub" / "jupyter-data")
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])  # where this process finds the spec
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    manager, client = start_new_kernel(kernel_name="python3", env=env)
    try:
        assert manager.kernel_spec.display_name == "Python 3"
        client.kernel_info()
        links = client.get_shell_msg(timeout=60)["content"]["help_links"]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert [link["text"] for link in links][:2] == [
        "Documentation de Python (en français)",
        "Tutoriel Python (en français)",
    ], links
    assert all(not english_in(link["text"]) for link in links), links


# --- how to reach each screen -------------------------------------------------------------------


def login_page(page, room) -> None:
    page.goto(f"{room.hub.url}/hub/login")
    page.locator("#login_submit").wait_for()


def refused_login(page, room) -> None:
    page.fill("#username_input", room.learner)
    page.fill("#password_input", "pas-le-bon-mot-de-passe")
    page.click("#login_submit")
    page.locator(".login_error").wait_for()


def waiting_page(page, room) -> None:
    """Logged in for the first time: the hub shows its waiting page while the server starts."""
    page.fill("#username_input", room.learner)
    page.fill("#password_input", room.hub.password_of(room.learner))
    page.click("#login_submit")
    page.wait_for_url("**/hub/spawn-pending/**", timeout=60_000)
    # a first progress event shown (JupyterHub's own are in English: the page translates them)
    page.locator("#progress-message").filter(has_text=re.compile(r"\w")).wait_for()


def notice(page, room) -> None:
    page.wait_for_url(f"**/user/{room.learner}/incubo/mes-donnees", timeout=240_000)
    page.get_by_role("button", name="J'ai lu la notice").wait_for()


def home(page, room) -> None:
    page.get_by_role("button", name="J'ai lu la notice").click()
    page.wait_for_url(f"**/user/{room.learner}/incubo/commencez-ici", timeout=60_000)
    page.locator(f"#modules li.module[data-module='{MODULE}']").wait_for()


def kernel_idle(page, notebook: str | None = None) -> None:
    """The notebook on show (`notebook`, if named) has its kernel connected and idle."""
    bar = page.locator("#jp-main-statusbar", has_text="| Inactif")
    if notebook:  # the status bar speaks of the current tab: this one
        bar = bar.filter(has_text=notebook)
    bar.wait_for(timeout=LAB_TIMEOUT)
    page.locator(f"{PANEL} .jp-Toolbar-kernelName", has_text="Python 3").wait_for()


def lesson(page, room) -> None:
    page.get_by_role("link", name="Premier module de la salle").click()
    page.wait_for_url(f"**/user/{room.learner}/lab/tree/incubo/{MODULE}/01-lecon.ipynb")
    page.locator(f"{PANEL} .jp-Cell").first.wait_for(timeout=LAB_TIMEOUT)
    kernel_idle(page)
    # the learners' kernel by its French name (hunspell leaves « (ipykernel) » aside as code)
    page.locator("#jp-main-statusbar", has_text="Python 3 | Inactif").wait_for()


def exercise(page, room) -> None:
    """The exercise notebook run cell by cell, then its check clicked: the widget's verdict shows."""
    page.goto(f"{room.hub.url}/user/{room.learner}/lab/tree/incubo/{MODULE}/02-exercices.ipynb")
    page.locator(f"{PANEL} .jp-Cell").first.wait_for(timeout=LAB_TIMEOUT)
    kernel_idle(page, "02-exercices.ipynb")
    page.locator(f"{PANEL} .jp-CodeCell", has_text="VOTRE CODE ICI").locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("total = 12 + 30")
    page.locator(".lm-MenuBar-item", has_text="Exécution").click()
    page.locator(".lm-Menu-item", has_text="Exécuter toutes les cellules").first.click()
    check = page.locator(f"{PANEL} button", has_text="Vérifier").first
    check.wait_for(timeout=60_000)
    check.click()
    page.locator(f"{PANEL} .jp-OutputArea-output").last.wait_for()
    kernel_idle(page)


MODULES = "#incubo-mes-modules"
HAND_IN = "Rendre mon travail : Premier module de la salle"


def my_modules(page, room) -> None:
    """« Mes modules », opened from JupyterLab's left side bar."""
    page.keyboard.press("Escape")
    page.locator(f".jp-SideBar li[data-id='{MODULES[1:]}']").click()
    page.locator(f"{MODULES} li[data-module='{MODULE}']").wait_for(timeout=60_000)


def hand_in_confirmation(page, room) -> None:
    page.locator(MODULES).get_by_role("button", name=HAND_IN).click()
    page.locator(".jp-Dialog").wait_for()


def handed_in(page, room) -> None:
    """Confirmed: the module « rendu », the panel says when."""
    page.keyboard.press("Enter")
    page.locator(".jp-Dialog").wait_for(state="detached")
    item = page.locator(f"{MODULES} li[data-module='{MODULE}']")
    item.locator(".incubo-etat", has_text="rendu").wait_for(timeout=60_000)


def graded(page, room) -> None:
    """Collected, graded, feedback released by the trainer's commands: « corrigé » and a score."""
    for step in (["collect", MODULE], ["autograde", MODULE], ["feedback", MODULE, "--release"]):
        done = incubo("grade", *step, "--course-dir", room.course, env=room.hub.env)
        assert done.returncode == 0, done.stdout + done.stderr
    item = page.locator(f"{MODULES} li[data-module='{MODULE}']")
    item.locator(".incubo-etat", has_text="corrigé").wait_for(timeout=30_000)


def feedback(page, room) -> None:
    """« Voir le retour » (a new tab for the learner; its address opened here)."""
    link = page.locator(MODULES).get_by_role(
        "link", name="Voir le retour : Premier module de la salle"
    )
    page.goto(link.get_attribute("href"))
    page.locator("a").first.wait_for()


def notebook_feedback(page, room) -> None:
    page.get_by_role("link", name="Un exercice de la salle").click()
    page.wait_for_url("**/retour/02-exercices")


def restart_dialog(page, room) -> None:
    """The kernel's « Redémarrer » confirmation (then cancelled)."""
    page.locator(".lm-MenuBar-item", has_text="Noyau").click()
    page.locator(".lm-Menu-item").get_by_text("Redémarrer le noyau…", exact=True).click()
    page.locator(".jp-Dialog").wait_for()


def start_here_notebook(page, room) -> None:
    """« Commencez ici.ipynb » at the root of the learner's files, opened in JupyterLab."""
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    page.goto(f"{room.hub.url}/user/{room.learner}/lab/tree/Commencez%20ici.ipynb")
    page.locator(f"{PANEL} .jp-RenderedMarkdown").first.wait_for(timeout=LAB_TIMEOUT)
    kernel_idle(page, "Commencez ici.ipynb")


def file_browser(page, room) -> None:
    page.keyboard.press("Escape")
    page.locator(".jp-Dialog").wait_for(state="detached")
    page.locator(".jp-FileBrowser .jp-BreadCrumbs-home").click()
    page.locator(".jp-DirListing-item", has_text="incubo").first.wait_for()


def file_menu(page, room) -> None:
    """The file browser's right-click menu on a notebook."""
    page.locator(".jp-DirListing-item", has_text="incubo").first.dblclick()
    page.locator(".jp-DirListing-item", has_text=MODULE).first.dblclick()
    page.locator(".jp-DirListing-item", has_text="01-lecon.ipynb").first.click(button="right")
    page.locator(".lm-Menu").first.wait_for()


def launcher(page, room) -> None:
    page.keyboard.press("Escape")
    page.locator(".jp-FileBrowser [data-command='launcher:create']").first.click()
    page.locator(".jp-Launcher:not(.lm-mod-hidden) .jp-LauncherCard").first.wait_for()


def side_panel(index: int) -> Callable:
    """The left side bar's tab `index` opened (file browser, running kernels, contents…)."""

    def open_panel(page, room) -> None:
        page.keyboard.press("Escape")
        tab = page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab").nth(index)
        if "lm-mod-current" not in (tab.get_attribute("class") or ""):
            tab.click()
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").wait_for()

    return open_panel


def hub_missing_page(page, room) -> None:
    page.goto(f"{room.hub.url}/hub/cette-page-n-existe-pas")
    page.locator("h1").first.wait_for()


def hub_home(page, room) -> None:
    page.goto(f"{room.hub.url}/hub/home")
    page.locator("#start").wait_for()


def menu(label: str) -> Callable:
    def open_menu(page, room) -> None:
        page.keyboard.press("Escape")
        page.locator(".lm-MenuBar-item", has_text=label).first.click()
        page.locator(".lm-Menu").first.wait_for()

    return open_menu


def parcours(page, room) -> None:
    page.keyboard.press("Escape")
    page.goto(f"{room.hub.url}/user/{room.learner}/incubo/mon-parcours")
    page.locator("h1").first.wait_for()


def seance_panel(page, room) -> None:
    opened = incubo("seance", "ouvrir", MODULE, env=room.hub.env)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    room.code = opened.stdout.strip().splitlines()[-1]
    page.goto(f"{room.hub.url}/user/{room.learner}/lab")
    page.locator("#incubo-seance-panel").get_by_text(room.code).first.wait_for(timeout=LAB_TIMEOUT)
    if page.locator(PANEL).count():  # the notebook the workspace reopens: its kernel started
        kernel_idle(page)


def missing_page(page, room) -> None:
    page.goto(f"{room.hub.url}/user/{room.learner}/cette-page-n-existe-pas")


def stopped_server(page, room) -> None:
    stop = room.hub.api("DELETE", f"/users/{room.learner}/server")
    assert stop.status_code in (202, 204), stop.status_code
    deadline = time.monotonic() + 60
    while (room.hub.user_model(room.learner).get("servers") or {}) and time.monotonic() < deadline:
        time.sleep(0.5)
    page.goto(f"{room.hub.url}/user/{room.learner}/lab")
    page.locator("#start").wait_for()


def logout(page, room) -> None:
    """JupyterHub logs out and shows the login page again."""
    page.goto(f"{room.hub.url}/hub/logout")
    page.wait_for_url("**/hub/login**")
    page.locator("#login_submit").wait_for()


MENUS = ("Fichier", "Édition", "Affichage", "Exécution", "Noyau", "Onglets", "Paramètres", "Aide")
WALK = [
    Screen("page de connexion", login_page),
    Screen("connexion refusée", refused_login),
    Screen("page d'attente du démarrage", waiting_page),
    Screen("notice RGPD", notice),
    Screen("« Commencez ici »", home),
    Screen("JupyterLab, une leçon ouverte", lesson),
    Screen("un exercice, sa vérification faite", exercise),
    Screen("confirmation « Redémarrer le noyau »", restart_dialog),
    Screen("« Commencez ici.ipynb » dans JupyterLab", start_here_notebook),
    Screen("explorateur de fichiers", file_browser),
    Screen("menu contextuel d'un fichier", file_menu),
    Screen("lanceur", launcher),
    *(Screen(f"panneau latéral n° {i + 1}", side_panel(i)) for i in range(1, 4)),
    *(Screen(f"menu « {label} »", menu(label)) for label in MENUS),
    Screen("« Mes modules »", my_modules),
    Screen("confirmation « Rendre mon travail »", hand_in_confirmation),
    Screen("« Mes modules », travail rendu", handed_in),
    Screen("« Mes modules », travail corrigé", graded),
    Screen("retour du formateur", feedback),
    Screen("retour sur un notebook", notebook_feedback),
    Screen("« Mon parcours »", parcours),
    Screen("accueil de la salle (hub)", hub_home),
    Screen("page inexistante du hub", hub_missing_page),
    Screen("panneau de la séance", seance_panel),
    Screen("page inexistante de son serveur", missing_page),
    Screen("serveur arrêté", stopped_server),
    Screen("déconnexion", logout),
]


def test_every_screen_a_learner_meets_is_french(room, browser, tmp_path):
    ctx = browser.new_context(locale="fr-FR", bypass_csp=True)  # Playwright's waits need eval
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    errors: list[str] = []  # a lab plugin that could not start without one turned off for learners
    page.on("console", lambda m: errors.append(m.text) if "failed to activate" in m.text else None)
    found: list[str] = []
    seen: set[str] = set()  # JupyterLab's frame is on many screens: each problem said once
    try:
        for screen in WALK:
            started = time.monotonic()
            screen.how_to_reach(page, room)
            data = (room.learner, getattr(room, "code", room.learner))
            here = problems(page, screen.name, data)
            here = [p for p in here if p.split(" : ", 1)[1] not in seen]
            seen.update(p.split(" : ", 1)[1] for p in here)
            print(f"{screen.name}: {len(here)} problème(s), {time.monotonic() - started:.1f} s")
            print("".join(f"  {p}\n" for p in here), end="")
            found += here
    except Exception:
        page.screenshot(path=tmp_path / "ecran.png")
        print(f"capture de l'écran : {tmp_path / 'ecran.png'}")
        raise
    finally:
        ctx.close()
    assert not found, "écrans pas en français :\n" + "\n".join(found)
    assert not errors, errors


CHECKER_PAGE = """<!doctype html><html lang="fr"><head><title>Salle de formation</title></head><body>
<nav><ul><li class="item">File</li><li class="item">Fichier</li></ul>
<div class="lm-MenuBar-itemLabel"><u>K</u>ernel</div></nav>
<main><h1>Bienvenue</h1><p id="attente">Your server is starting up. Patientez.</p>
<p>Une file d'attente et un Fichier de données.</p><p>Les comunes de la préfecture.</p>
<button aria-label="main area toolbar" title="Voir le retour">Retour</button>
<pre>print("Sign in")</pre><div style="display:none">Help</div></main></body></html>"""


def test_the_checker_says_the_screen_the_label_and_where(page):
    """Without a hub: English labels whole (not « File » in « file d'attente »), typos, places."""
    page.set_content(CHECKER_PAGE)
    found = problems(page, "écran d'essai")
    assert any(
        "écran d'essai : anglais « File » dans « File »" in f and "li.item < ul < nav" in f
        for f in found
    ), found
    assert any("« Your server is starting up »" in f and "p#attente" in f for f in found), found
    assert any("mot inconnu de hunspell-fr « comunes »" in f for f in found), found
    assert any("« Kernel » dans « Kernel » (div.lm-MenuBar-itemLabel" in f for f in found), found
    # upstream English listed with its reason (UPSTREAM); code, hidden elements: not screens' text
    assert not any("main area" in f or "Sign in" in f or "Help" in f for f in found), found
    assert len([f for f in found if ": anglais" in f]) == 3, found
