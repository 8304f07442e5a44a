"""The learner's home on the hub (issue 20, point 1), tried in Chromium through a real hub.

A trainer pre-warms two learners' servers (`incubo hub prechauffer`) after releasing a first module
with a due date; a learner logs in, reads the notice and lands on « Commencez ici »: the module,
its duration, its state and its due date, one click from JupyterLab. A second module released
while both learners have « Commencez ici » and « Mes modules » open appears in all four screens
within 10 s, without a click. Opening a notebook makes its
module « en cours », a hand-in « rendu », released feedback « corrigé ». In JupyterLab, the
module's internal files are not in the file browser (yet still readable), the launcher offers a
notebook, no terminal nor console, and « Commencez ici.ipynb » at the root leads back to the
page. axe-core: no serious or critical violation on the home.
"""

from __future__ import annotations

import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from harness import ROOT, axe_violations, incubo, wait_for
from hub_support import shared_tmp, start_hub, unique_name
from test_devoirs import MODULE, land_on_commencez_ici

from incubo import deadlines
from incubo.exchange import ExchangeLayout

pytestmark = [pytest.mark.slow, pytest.mark.browser]

FIRST, SECOND = MODULE, "salle-02"
LAB_TIMEOUT = 180_000
#: The issue's promise: a module released while the room runs is on the home within 10 s.
ARRIVAL_SECONDS = 10


@pytest.fixture(scope="module")
def room():
    """The hub fixture's parcours plus a second module; the first one released with a due date."""
    base = shared_tmp("incubo-accueil-")
    sources, course = base / "sources", base / "cours"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hub" / "salle", sources / "salle")
    with (sources / "salle" / "parcours.yml").open("a", encoding="utf-8") as f:
        f.write(f'  - id: {SECOND}\n    titre: "Deuxième module"\n    notebooks: [01-lecon]\n')
    learner, neighbour, trainer = unique_name("a"), unique_name("v"), unique_name("f")
    try:
        built = incubo("build", "--courses", sources, "--course-dir", course)
        assert built.returncode == 0, built.stderr
        with start_hub(course_dir=course, formateurs=[trainer]) as hub:
            released = incubo("grade", "release", FIRST, "--course-dir", course, env=hub.env)
            assert released.returncode == 0, released.stderr
            layout = ExchangeLayout(hub.hub_dir / "exchange", "incubo")
            due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
            deadlines.write(layout.outbound, FIRST, deadlines.Deadline(due))
            warm = incubo("hub", "prechauffer", learner, neighbour, env=hub.env)
            assert warm.returncode == 0, warm.stdout + warm.stderr
            yield SimpleNamespace(
                hub=hub, course=course, learner=learner, neighbour=neighbour, trainer=trainer,
                layout=layout, due=due,
            )  # fmt: skip
    finally:
        shutil.rmtree(base, ignore_errors=True)


#: What the Assignment List's « Submit » runs, run in the learner's kernel (so as the learner).
SUBMIT = f"""import os, subprocess, sys
r = subprocess.run([sys.executable, "-m", "nbgrader", "submit", "{FIRST}", "--course", "incubo"],
                   cwd=os.path.expanduser("~"), capture_output=True, text=True)
print(r.returncode, r.stdout[-800:], r.stderr[-800:])
"""


def both_screens(browser, hub, name: str):
    """A pre-warmed learner's first login: « Commencez ici », and « Mes modules » in another tab."""
    ctx, home = land_on_commencez_ici(hub, browser, name)  # FIRST, with its due date
    return ctx, home, mes_modules(ctx, hub, name)


def mes_modules(ctx, hub, name: str):
    """« Mes modules » opened in a second tab (its own workspace: the default one stays as is)."""
    lab = ctx.new_page()
    lab.goto(f"{hub.url}/user/{name}/lab/workspaces/annexe")
    lab.locator(".jp-SideBar li[data-id='incubo-mes-modules']").click(timeout=LAB_TIMEOUT)
    panel = lab.locator("#incubo-mes-modules")
    panel.locator(f"li[data-module='{FIRST}']").wait_for(timeout=60_000)
    return panel


def module_item(page, module: str):
    return page.locator(f"#modules li.module[data-module='{module}']")


def state(page, module: str):
    return module_item(page, module).locator(".etat")


def test_the_learner_lands_on_commencez_ici_and_sees_a_release_arrive(room, browser):
    hub, name = room.hub, room.learner
    ctx = browser.new_context(locale="fr-FR")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    errors = []  # what the browser reports: a lab plugin that failed to start, a missing page
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        # 1. the notice first, then « Commencez ici »
        hub.login(page, name)
        page.wait_for_url(f"**/user/{name}/incubo/mes-donnees", timeout=240_000)
        page.get_by_role("button", name="J'ai lu la notice").click()
        page.wait_for_url(f"**/user/{name}/incubo/commencez-ici", timeout=60_000)
        assert page.locator("h1").inner_text() == "Commencez ici"
        first = module_item(page, FIRST)
        text = first.inner_text()
        assert "à commencer" in text and "10 min" in text, text
        from incubo import french_time

        assert f"à rendre avant {french_time.french_moment(room.due)}" in text, text
        assert "Une leçon de la salle" in text and "Un exercice de la salle" in text, text
        assert module_item(page, SECOND).count() == 0
        assert page.locator("#modules h2").all_inner_texts() == ["Salle de test"]
        assert axe_violations(page) == []

        # 2. released while both pre-warmed learners have the page and « Mes modules » (in another
        #    tab) open: there within 10 s in all four, without a click
        panel = mes_modules(ctx, hub, name)
        neighbour_ctx, neighbour_home, neighbour_panel = both_screens(browser, hub, room.neighbour)
        screens = {
            f"{name}: Commencez ici": module_item(page, SECOND),
            f"{name}: Mes modules": panel.locator(f"li[data-module='{SECOND}']"),
            f"{room.neighbour}: Commencez ici": module_item(neighbour_home, SECOND),
            f"{room.neighbour}: Mes modules": neighbour_panel.locator(
                f"li[data-module='{SECOND}']"
            ),
        }
        assert [screen for screen, item in screens.items() if item.count()] == []
        started = time.monotonic()
        released = incubo("grade", "release", SECOND, "--course-dir", room.course, env=hub.env)
        assert released.returncode == 0, released.stderr
        for screen, item in screens.items():
            left = max(ARRIVAL_SECONDS - (time.monotonic() - started), 0.1)
            item.wait_for(timeout=left * 1000)
            print(f"{SECOND} in {screen} {time.monotonic() - started:.1f} s after the release")
        panel.page.close()
        neighbour_ctx.close()
        assert "à commencer" in module_item(page, SECOND).inner_text()
        # in the build's order, whatever order they came in
        order = page.locator("#modules li.module").evaluate_all(
            "items => items.map(i => i.dataset.module)"
        )
        assert order == [FIRST, SECOND], order
        assert page.locator("#annonce").inner_text() == (
            "Un nouveau module est arrivé dans votre espace."
        )
        assert axe_violations(page) == []

        # 3. one click opens the module's first notebook in JupyterLab
        first.get_by_role("link", name="Premier module de la salle").click()
        page.wait_for_url(f"**/user/{name}/lab/tree/incubo/{FIRST}/01-lecon.ipynb")
        page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=LAB_TIMEOUT)
        listing = page.locator(".jp-DirListing-content")
        listing.get_by_text("02-exercices.ipynb").wait_for(timeout=LAB_TIMEOUT)
        assert "incubo_exercices" not in listing.inner_text()
        # hidden from listings only: the lessons read their sidecar from the disk
        sidecar = page.request.get(
            f"{hub.url}/user/{name}/api/contents/incubo/{FIRST}/incubo_exercices.json",
            headers={"X-XSRFToken": xsrf(page)},
        )
        assert sidecar.status == 200, sidecar.status
        assert json.loads(sidecar.json()["content"])["module"] == FIRST

        # 4. the launcher: a notebook, no terminal, no console
        labels = launcher_labels(page)
        print("\n".join(["launcher:", *labels, "errors:", *errors]))
        assert not [e for e in errors if "failed to activate" in e], errors
        assert any("Python" in label for label in labels), labels
        assert not any(
            word in label for label in labels for word in ("Terminal", "Console", "Fichier")
        ), labels

        # 5. back home: the opened module is « en cours »
        page.goto(f"{hub.url}/user/{name}/incubo/commencez-ici")
        wait_for(
            lambda: "en cours" in module_item(page, FIRST).inner_text(),
            timeout=30,
            what="« en cours » after opening a notebook",
        )

        # 6. handed in (nbgrader's own submit, as the learner): « rendu » on the open page
        handed = hub.lab(name).run(SUBMIT)
        assert not handed["error"] and handed["stdout"].startswith("0"), handed
        state(page, FIRST).filter(has_text="rendu").wait_for(timeout=30_000)

        # 7. collected, graded, feedback released by the trainer's commands: « corrigé »
        for step in (["collect", FIRST], ["autograde", FIRST], ["feedback", FIRST, "--release"]):
            done = incubo("grade", *step, "--course-dir", room.course, env=hub.env)
            assert done.returncode == 0, done.stdout + done.stderr
        state(page, FIRST).filter(has_text="corrigé").wait_for(timeout=30_000)
        assert axe_violations(page) == []

        # 8. in JupyterLab, « Commencez ici.ipynb » at the root leads back to the page
        page.goto(f"{hub.url}/user/{name}/lab/tree/Commencez%20ici.ipynb")
        link = page.locator(".jp-RenderedMarkdown a", has_text="ouvrir la page « Commencez ici »")
        link.wait_for(timeout=LAB_TIMEOUT)
        with ctx.expect_page() as opened:
            link.click()
        opened.value.wait_for_url(f"**/user/{name}/incubo/commencez-ici")
        module_item(opened.value, SECOND).wait_for()
    finally:
        ctx.close()


def xsrf(page) -> str:
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    return cookies.get("_xsrf", "")


def launcher_labels(page) -> list[str]:
    """The cards of a new launcher, opened from the file browser's « + »."""
    page.locator(".jp-FileBrowser [data-command='launcher:create']").first.click()
    cards = page.locator(".jp-Launcher:not(.lm-mod-hidden) .jp-LauncherCard")
    cards.first.wait_for(timeout=LAB_TIMEOUT)
    return cards.all_inner_texts()


def test_trainers_keep_the_full_launcher(room, browser):
    ctx = browser.new_context(locale="fr-FR")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        room.hub.login(page, room.trainer)
        page.wait_for_url(f"**/user/{room.trainer}/incubo/**", timeout=240_000)
        page.goto(f"{room.hub.url}/user/{room.trainer}/lab")
        labels = launcher_labels(page)
        assert any("Terminal" in label for label in labels), labels
        assert any("Console" in label or "Python" in label for label in labels), labels
    finally:
        ctx.close()


def test_states_and_order_come_from_the_learners_files(tmp_path):
    """Without a hub: the same reading of a home, each state in turn, a passed due date said."""
    from nbgrader.utils import notebook_hash

    from incubo.exchange import VIEW_DIR, publish_catalogue
    from incubo.hub import home_page

    course = tmp_path / "cours"
    built = incubo(
        "build", "--courses", ROOT / "tests" / "fixtures" / "hub", "--course-dir", course
    )
    assert built.returncode == 0, built.stderr
    layout = ExchangeLayout(tmp_path / "echange", "incubo")
    for folder in (layout.outbound, layout.inbound_of("a"), layout.feedback_of("a")):
        folder.mkdir(parents=True)
    shutil.copytree(course / "release" / FIRST, layout.outbound / FIRST)
    publish_catalogue(course, layout)
    home = tmp_path / "home"
    shutil.copytree(course / "release" / FIRST, home / "incubo" / FIRST)
    view = home / VIEW_DIR / "incubo"
    view.mkdir(parents=True)
    for name, target in (
        ("outbound", layout.outbound),
        ("inbound", layout.inbound_of("a")),
        ("feedback", layout.feedback_of("a")),
    ):
        (view / name).symlink_to(target)

    def only() -> home_page.Module:
        (module,) = home_page.received(home, "incubo")
        return module

    module = only()
    assert (module.title, module.parcours, module.state) == (
        "Premier module de la salle",
        "Salle de test",
        "à commencer",
    )
    past = datetime.now(UTC) - timedelta(days=1)
    deadlines.write(layout.outbound, FIRST, deadlines.Deadline(past))
    assert only().due.endswith("(date dépassée)"), only().due
    checkpoints = home / "incubo" / FIRST / ".ipynb_checkpoints"
    checkpoints.mkdir()
    (checkpoints / "01-lecon-checkpoint.ipynb").write_text("{}")
    assert only().state == "en cours"
    handed = layout.inbound_of("a") / f"a+{FIRST}+2026-12-04 10:00:00.000000 UTC+x"
    shutil.copytree(home / "incubo" / FIRST, handed)
    (handed / "submission_secret.txt").write_text("secret")
    assert only().state == "rendu"
    (
        layout.feedback_of("a")
        / (notebook_hash(secret="secret", notebook_id="02-exercices") + ".html")
    ).write_text("<p>ok</p>")
    assert only().state == "corrigé"
