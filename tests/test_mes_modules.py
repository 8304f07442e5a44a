"""« Mes modules », the learner's panel in JupyterLab (issue 20, point 2).

Without a hub first: a learner's home and exchange view built on disk, read by
`incubo.hub.modules_page` and handed in through nbgrader's real exchange (as the user running the
test). Then through a real hub in Chromium: a learner opens « Mes modules » in JupyterLab's left
side bar, sees the module with its due date in French, hands in from the keyboard after a
confirmation that names the files sent (« rendu »), hands in again after the due date
(« en retard »), is refused on a module whose trainer chose to refuse late hand-ins, and once the
trainer's commands have graded and released the feedback, sees the score and opens « Voir le
retour » in a new tab, served under a strict Content-Security-Policy. axe-core finds no serious or
critical violation in the panel.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness import ROOT, axe_violations, incubo

from incubo import deadlines, french_time
from incubo.exchange import VIEW_DIR, ExchangeLayout, publish_catalogue
from incubo.hub import modules_page

FIRST, SECOND = "salle-01", "salle-02"
NBGRADER_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "incubo"
c.Exchange.path_includes_course = True
c.Exchange.root = {root!r}
"""


@pytest.fixture
def home(tmp_path):
    """A built course, FIRST released, a learner's home with their copy and their exchange view."""
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
    (home / "nbgrader_config.py").write_text(
        NBGRADER_CONFIG.format(root=str(home / VIEW_DIR)), encoding="utf-8"
    )
    return SimpleNamespace(home=home, layout=layout, place=modules_page.Place(home, "incubo"))


def only(place) -> dict:
    (module,) = modules_page.modules(place)
    return module


def test_states_due_dates_hand_ins_and_the_late_policy(home):
    place, layout = home.place, home.layout
    module = only(place)
    assert (module["titre"], module["etat"], module["echeance"]) == (
        "Premier module de la salle",
        "à commencer",
        "",
    )
    assert module["peut_rendre"] and module["fichiers"][:2] == [
        "01-lecon.ipynb",
        "02-exercices.ipynb",
    ]
    assert not [f for f in module["fichiers"] if "incubo_" in f]
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    deadlines.write(layout.outbound, FIRST, deadlines.Deadline(due))
    assert only(place)["echeance"] == f"à rendre avant {french_time.french_moment(due)}"

    said = modules_page.hand_in(place, FIRST)
    assert said.startswith("Travail rendu le ") and "retard" not in said, said
    (sub,) = list(layout.inbound_of("a").iterdir())
    assert (sub / "02-exercices.ipynb").is_file() and f"+{FIRST}+" in sub.name
    module = only(place)
    assert module["etat"] == "rendu" and module["rendu_le"].startswith("rendu le "), module

    # after the due date, accepted: handed in again, shown late
    past = datetime.now(UTC) - timedelta(hours=1)
    deadlines.write(layout.outbound, FIRST, deadlines.Deadline(past))
    assert only(place)["message"] == modules_page.LATE_ALLOWED
    assert "signalé en retard" in modules_page.hand_in(place, FIRST)
    module = only(place)
    assert module["etat"] == "en retard" and module["rendu_le"].endswith("(en retard)"), module
    assert module["classe"] == "etat-4"

    # refused: no button, a French sentence, and the server refuses too
    deadlines.write(layout.outbound, FIRST, deadlines.Deadline(past, deadlines.REFUSE))
    module = only(place)
    assert not module["peut_rendre"] and module["message"] == modules_page.REFUSED
    with pytest.raises(modules_page.HandInRefused, match="ne peut plus être rendu"):
        modules_page.hand_in(place, FIRST)
    assert len(list(layout.inbound_of("a").iterdir())) == 2
    with pytest.raises(modules_page.HandInRefused, match="pas dans votre espace"):
        modules_page.hand_in(place, "../etc")


def test_feedback_gives_the_state_the_score_and_the_page(home):
    from nbgrader.utils import notebook_hash

    place, layout = home.place, home.layout
    modules_page.hand_in(place, FIRST)
    (sub,) = list(layout.inbound_of("a").iterdir())
    secret = (sub / "submission_secret.txt").read_text().strip()
    page = layout.feedback_of("a") / (
        notebook_hash(secret=secret, notebook_id="02-exercices") + ".html"
    )
    page.write_text("<p><strong>Note : 1,5 / 2</strong></p>", encoding="utf-8")
    module = only(place)
    assert module["etat"] == "corrigé" and module["note"] == "Note : 1,5 / 2", module
    assert module["retour"] == f"incubo/modules/{FIRST}/retour"
    found = modules_page.feedback_pages(place, FIRST)
    assert {k: v.resolve() for k, v in found.items()} == {"02-exercices": page.resolve()}
    assert "Note : 1,5 / 2" in modules_page.read_page(found["02-exercices"])
    # a link planted in the feedback folder is not followed
    page.unlink()
    page.symlink_to(Path("/etc/hostname"))
    with pytest.raises(OSError):
        modules_page.read_page(found["02-exercices"])


# --- through a real hub, in Chromium ------------------------------------------------------------

LAB_TIMEOUT = 180_000
PANEL = "#incubo-mes-modules"


@pytest.fixture(scope="module")
def room():
    """The hub fixture's parcours plus a second module; FIRST due in three days, SECOND refused late."""
    from hub_support import shared_tmp, start_hub, unique_name

    base = shared_tmp("incubo-mes-modules-")
    sources, course = base / "sources", base / "cours"
    shutil.copytree(ROOT / "tests" / "fixtures" / "hub" / "salle", sources / "salle")
    with (sources / "salle" / "parcours.yml").open("a", encoding="utf-8") as f:
        f.write(f'  - id: {SECOND}\n    titre: "Deuxième module"\n    notebooks: [01-lecon]\n')
    learner = unique_name("a")
    try:
        built = incubo("build", "--courses", sources, "--course-dir", course)
        assert built.returncode == 0, built.stderr
        with start_hub(course_dir=course) as hub:
            layout = ExchangeLayout(hub.hub_dir / "exchange", "incubo")
            now = datetime.now(UTC).replace(microsecond=0)
            for module, deadline in (
                (FIRST, deadlines.Deadline(now + timedelta(days=3))),
                (SECOND, deadlines.Deadline(now - timedelta(hours=2), deadlines.REFUSE)),
            ):
                released = incubo("grade", "release", module, "--course-dir", course, env=hub.env)
                assert released.returncode == 0, released.stderr
                deadlines.write(layout.outbound, module, deadline)
            yield SimpleNamespace(hub=hub, course=course, learner=learner, layout=layout, now=now)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def scoped_violations(page, selector: str) -> list:
    """axe-core's serious and critical violations inside `selector` (JupyterLab's own are not ours)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=str(ROOT / "node_modules" / "axe-core" / "axe.min.js"))
    return page.evaluate(
        f"async () => (await axe.run('{selector}', {{resultTypes: ['violations']}}))"
        ".violations.filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => [v.id, v.nodes.map(n => n.html)])"
    )


def panel_violations(page) -> list:
    """The same inside « Mes modules »."""
    return scoped_violations(page, PANEL)


def open_panel(room, page):
    """The learner's JupyterLab, « Mes modules » opened from the left side bar."""
    page.goto(f"{room.hub.url}/user/{room.learner}/lab")
    page.locator(f".jp-SideBar li[data-id='{PANEL[1:]}']").click(timeout=LAB_TIMEOUT)
    panel = page.locator(PANEL)
    panel.locator(f"li[data-module='{FIRST}']").wait_for(timeout=60_000)
    return panel


def hand_ins(folder):
    """The learner's submission folders (the `.recu-<module>` marks of « Devoirs » left aside)."""
    return [p for p in folder.iterdir() if not p.name.startswith(".recu-")]


def confirm(page, *, accept: bool) -> str:
    """The confirmation dialog: its text, then « Rendre » (Enter) or « Annuler » (Escape)."""
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    text = dialog.inner_text()
    page.keyboard.press("Enter" if accept else "Escape")
    dialog.wait_for(state="detached")
    return text


def feedback_axe_clean(browser, ctx, url: str) -> None:
    """axe-core on the feedback pages: in a context that bypasses the CSP (which forbids axe's script)."""
    audit = browser.new_context(locale="fr-FR", bypass_csp=True, storage_state=ctx.storage_state())
    try:
        page = audit.new_page()
        page.goto(url)
        assert axe_violations(page) == []
        page.locator("a").first.click()
        page.wait_for_url("**/retour/*")
        assert axe_violations(page) == []
    finally:
        audit.close()


def test_a_learner_hands_in_from_mes_modules_and_reads_the_feedback(room, browser):
    hub, name, layout = room.hub, room.learner, room.layout
    ctx = browser.new_context(locale="fr-FR")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        hub.login(page, name)
        page.wait_for_url(f"**/user/{name}/incubo/mes-donnees", timeout=240_000)
        page.get_by_role("button", name="J'ai lu la notice").click()
        page.wait_for_url(f"**/user/{name}/incubo/commencez-ici", timeout=60_000)
        panel = open_panel(room, page)
        config = page.locator("#jupyter-config-data").text_content()
        assert '"@jupyter/nbgrader:assignment-list"' in config
        assert '"@jupyter/nbgrader:menu"' in config
        assert page.locator(".lm-MenuBar-itemLabel:text-is('Nbgrader')").count() == 0

        # 1. the module, its due date in French, its state
        first = panel.locator(f"li[data-module='{FIRST}']")
        due = deadlines.Deadline(room.now + timedelta(days=3))
        text = first.inner_text()
        assert "Premier module de la salle" in text and "à commencer" in text, text
        assert due.french() in text, text
        assert panel_violations(page) == []

        # 2. by keyboard: Enter opens the confirmation (it names the files), Escape cancels
        button = first.get_by_role("button", name="Rendre mon travail : Premier module de la salle")
        button.focus()
        page.keyboard.press("Enter")
        said = confirm(page, accept=False)
        assert "02-exercices.ipynb" in said and "incubo_" not in said, said
        assert not hand_ins(layout.inbound_of(name))
        button.focus()
        page.keyboard.press("Enter")
        confirm(page, accept=True)
        first.locator(".incubo-etat", has_text="rendu").wait_for(timeout=60_000)
        assert "Travail rendu le" in panel.locator(".incubo-modules-annonce").inner_text()
        (sub,) = hand_ins(layout.inbound_of(name))
        assert (sub / "02-exercices.ipynb").is_file()
        assert panel_violations(page) == []

        # 3. the due date passes (late hand-ins accepted): handed in again, « en retard »
        deadlines.write(layout.outbound, FIRST, deadlines.Deadline(room.now - timedelta(hours=1)))
        first.get_by_text(modules_page.LATE_ALLOWED).wait_for(timeout=30_000)
        button.click()
        confirm(page, accept=True)
        first.locator(".incubo-etat", has_text="en retard").wait_for(timeout=60_000)
        assert "(en retard)" in first.inner_text()

        # 4. the trainer refuses late hand-ins of SECOND: no button, a sentence, the server refuses
        second = panel.locator(f"li[data-module='{SECOND}']")
        second.get_by_text(modules_page.REFUSED).wait_for(timeout=30_000)
        assert second.get_by_role("button").count() == 0
        refused = page.evaluate(
            """async (url) => {
                const xsrf = document.cookie.match('(^|;)\\s*_xsrf\\s*=\\s*([^;]+)')[2];
                const r = await fetch(url, {method: 'POST', headers: {'X-XSRFToken': xsrf}});
                return [r.status, (await r.json()).erreur];
            }""",
            f"{hub.url}/user/{name}/incubo/modules/{SECOND}/rendre",
        )
        assert refused[0] == 400 and "ne peut plus être rendu" in refused[1], refused

        # 5. graded and released by the trainer's commands: score and « Voir le retour »
        for step in (["collect", FIRST], ["autograde", FIRST], ["feedback", FIRST, "--release"]):
            done = incubo("grade", *step, "--course-dir", room.course, env=hub.env)
            assert done.returncode == 0, done.stdout + done.stderr
        first.locator(".incubo-etat", has_text="corrigé").wait_for(timeout=30_000)
        assert "Note : " in first.inner_text()
        first.get_by_role("link", name="Voir le retour : Premier module de la salle").wait_for()
        button.focus()  # Tab goes from « Rendre mon travail » to « Voir le retour », focus shown
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.textContent") == "Voir le retour"
        outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
        assert outline not in ("none", ""), "focus invisible"
        with ctx.expect_page() as opened:
            page.keyboard.press("Enter")
        feedback = opened.value
        feedback.wait_for_load_state()
        assert feedback.url.endswith(f"/user/{name}/incubo/modules/{FIRST}/retour")
        feedback_axe_clean(browser, ctx, feedback.url)
        feedback.get_by_role("link", name="Un exercice de la salle").click()
        feedback.wait_for_url("**/retour/02-exercices")
        assert "Note :" in feedback.inner_text("body") and name in feedback.content()
        response = page.request.get(feedback.url)
        assert "default-src 'none'" in response.headers["content-security-policy"]
        assert panel_violations(page) == []
    finally:
        ctx.close()


# --- the extension as built ---------------------------------------------------------------------

LABEXT = ROOT / "incubo" / "share" / "labextensions" / "@incubo" / "labextension"


def test_jupyterlab_lists_the_extension_enabled_for_learners():
    import os
    import subprocess

    from harness import BIN

    from incubo.hub import seance_panel

    env = {**os.environ, **seance_panel.learner_env("incubo")}
    listed = subprocess.run(
        [BIN / "jupyter", "labextension", "list"], env=env, capture_output=True, text=True
    )
    line = [x for x in (listed.stdout + listed.stderr).splitlines() if "@incubo/labextension" in x]
    assert line and "enabled" in line[0] and "OK" in line[0], listed.stdout + listed.stderr


@pytest.mark.slow
def test_make_labextension_gives_the_committed_build():
    """`make labextension`'s build, run again on the sources, leaves the committed files as they are.

    Built in place: a difference shows in `git status` as well as here. The build does not depend on
    the checkout's folder (`labextension/webpack.config.js`: ids by order, not hashed from paths).
    """
    import subprocess

    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm absent : la construction de l'extension n'est pas vérifiée ici")
    source = ROOT / "labextension"
    if not (source / "node_modules").is_dir():
        ci = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=source, capture_output=True, text=True
        )
        assert ci.returncode == 0, ci.stderr[-2000:]
    built = subprocess.run([npm, "run", "build"], cwd=source, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    status = subprocess.run(
        ["git", "status", "--porcelain", "--", str(LABEXT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert status.returncode == 0 and status.stdout == "", (
        f"relancez `make labextension` et validez le résultat :\n{status.stdout}"
    )
