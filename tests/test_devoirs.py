"""The room's whole cycle in the browser (issue 20): « Devoirs » for the trainer, « Commencez ici »
and « Mes modules » for two learners, through a real hub in Chromium.

The trainer releases a module with a due date from « Devoirs »; two learners log in, read the
notice, land on « Commencez ici » and find the module there (the trainer's page says they received
it); they work (in their own kernel) and hand in from « Mes modules » — one on time, the other
after the due date (set in the past meanwhile): « en retard » in their panel and on the trainer's
page. The trainer collects, grades (the progress shows live; meanwhile no process of the grading
runs as root), returns the feedback; each learner sees their score in « Mes modules » and opens
their feedback in a new tab. The trainer downloads the grades: the same bytes as `incubo grade
export`. axe-core: no serious or critical violation. After a hub restart the page still shows the
due date and the policy.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from french_screens import problems
from harness import BIN, ROOT, axe_violations, incubo
from hub_support import shared_tmp, start_hub, unique_name
from test_mes_modules import (
    PANEL,
    confirm,
    feedback_axe_clean,
    panel_violations,
    scoped_violations,
)

from incubo import deadlines, french_time
from incubo.exchange import ExchangeLayout
from incubo.hub import modules_page

pytestmark = [pytest.mark.slow, pytest.mark.browser]

MODULE = "salle-01"
PAGE = "/services/incubo/devoirs"

TITLE = "Premier module de la salle"
LAB_TIMEOUT = 180_000

#: In the learner's kernel (so as the learner): answer the exercise.
WORK = f"""import pathlib
nb = pathlib.Path.home() / "incubo" / "{MODULE}" / "02-exercices.ipynb"
nb.write_text(nb.read_text().replace("raise NotImplementedError()", "total = 12 + 30"))
print("ok")
"""


@pytest.fixture(scope="module")
def room():
    base = shared_tmp("incubo-devoirs-")
    course = base / "cours"
    trainer, learners = unique_name("f"), [unique_name("a"), unique_name("b")]
    try:
        built = incubo(
            "build", "--courses", ROOT / "tests" / "fixtures" / "hub", "--course-dir", course
        )
        assert built.returncode == 0, built.stderr
        with start_hub(formateurs=[trainer], course_dir=course) as hub:
            hub.wait_running()
            layout = ExchangeLayout(hub.hub_dir / "exchange", "incubo")
            yield SimpleNamespace(
                hub=hub, course=course, trainer=trainer, learners=learners, layout=layout
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)


def open_devoirs(room, page) -> None:
    """The trainer logs in to the room's dashboard, then follows its link to « Devoirs »."""
    page.goto(f"{room.hub.url}/hub/login?next=/services/tableau-de-bord/")
    page.fill("#username_input", room.trainer)
    page.fill("#password_input", room.hub.password_of(room.trainer))
    page.click("#login_submit")
    page.wait_for_url("**/services/tableau-de-bord/", timeout=120_000)
    page.get_by_role("link", name="Devoirs : distribuer, ramasser, corriger").click()
    page.wait_for_url(f"**{PAGE}", timeout=120_000)
    section(page).wait_for()


def section(page):
    return page.locator(f"section.module[data-module='{MODULE}']")


def row(page, learner: str):
    return section(page).locator(f"tr[data-apprenant='{learner}']")


def wait_message(page, text: str, timeout: float = 240_000) -> str:
    message = section(page).locator(".message")
    message.filter(has_text=text).wait_for(timeout=timeout)
    return message.inner_text()


class RootWatch(threading.Thread):
    """Samples `ps -eo user,args` from the release to the feedback: this room's `incubo grade`
    commands started by « Devoirs » (release, collect, autograde, feedback), nbgrader, the grading
    sandboxes and kernels, and their users.

    This room's: run by its grader, or naming its course folder or this checkout (the machine
    may run other rooms' tests meanwhile)."""

    WORDS = ("incubo grade", "ipykernel", "bwrap", "nbgrader")

    def __init__(self, room) -> None:
        super().__init__(daemon=True)
        self.marks = (str(room.course), str(ROOT))
        self.grader = room.hub.env["INCUBO_HUB_COMPTE_CORRECTEUR"]
        self.stop = threading.Event()
        self.seen: set[tuple[str, str]] = set()
        self.samples = 0

    def ours(self, user: str, args: str) -> bool:
        if "pytest" in args or not any(w in args for w in self.WORDS):
            return False
        return user == self.grader or any(mark in args for mark in self.marks)

    def run(self) -> None:
        while not self.stop.is_set():
            out = subprocess.run(
                ["ps", "-ww", "-eo", "user:40,args"], capture_output=True, text=True
            )
            for line in out.stdout.splitlines()[1:]:
                user, _, args = line.strip().partition(" ")
                if self.ours(user, args.strip()):
                    self.seen.add((user, args.strip()[:400]))
            self.samples += 1
            time.sleep(0.1)


def land_on_commencez_ici(hub, browser, name: str):
    """A learner's first login in Chromium: the notice, then « Commencez ici » with the module."""
    ctx = browser.new_context(locale="fr-FR")
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    hub.login(page, name)
    page.wait_for_url(f"**/user/{name}/incubo/mes-donnees", timeout=240_000)
    page.get_by_role("button", name="J'ai lu la notice").click()
    page.wait_for_url(f"**/user/{name}/incubo/commencez-ici", timeout=60_000)
    item = page.locator(f"#modules li.module[data-module='{MODULE}']")
    item.wait_for(timeout=30_000)
    assert TITLE in item.inner_text() and "à rendre avant" in item.inner_text(), item.inner_text()
    assert axe_violations(page) == []
    return ctx, page


def mes_modules(page, name: str):
    """« Commencez ici » → the module in JupyterLab, then « Mes modules » from the left side bar."""
    page.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"**/user/{name}/lab/**", timeout=LAB_TIMEOUT)
    page.locator(f".jp-SideBar li[data-id='{PANEL[1:]}']").click(timeout=LAB_TIMEOUT)
    item = page.locator(PANEL).locator(f"li[data-module='{MODULE}']")
    item.wait_for(timeout=60_000)
    return item


def hand_in(page, item) -> None:
    """« Rendre mon travail », the confirmation (axe-clean, French), then « Rendre » (Enter)."""
    item.get_by_role("button", name=f"Rendre mon travail : {TITLE}").click()
    page.locator(".jp-Dialog").wait_for()
    assert scoped_violations(page, ".jp-Dialog") == []
    assert "02-exercices.ipynb" in confirm(page, accept=True)


def not_french(page, screen: str, name: str) -> list[str]:
    """English labels or words hunspell-fr does not know on a learner's screen (point 4)."""
    return problems(page, screen, (name, MODULE, "02-exercices.ipynb", "01-lecon.ipynb"))


def read_feedback(browser, ctx, page, item, name: str) -> None:
    """The score in « Mes modules », then « Voir le retour » in a new tab (axe-clean, French)."""
    item.locator(".incubo-etat", has_text="corrigé").wait_for(timeout=60_000)
    assert "Note : " in item.inner_text(), item.inner_text()
    with ctx.expect_page() as opened:
        item.get_by_role("link", name=f"Voir le retour : {TITLE}").click()
    feedback = opened.value
    feedback.wait_for_load_state()
    assert feedback.url.endswith(f"/user/{name}/incubo/modules/{MODULE}/retour"), feedback.url
    assert not_french(feedback, "liste des retours", name) == []
    feedback_axe_clean(browser, ctx, feedback.url)
    feedback.get_by_role("link", name="Un exercice de la salle").click()
    feedback.wait_for_url("**/retour/02-exercices")
    assert "Note :" in feedback.inner_text("body") and name in feedback.content()
    assert panel_violations(page) == []
    assert not_french(page, "« Mes modules », corrigé", name) == []


def test_the_trainer_runs_a_module_from_devoirs(room, browser):
    hub, layout = room.hub, room.layout
    ctx = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    watch = RootWatch(room)  # who runs this room's release, collect, grading and feedback
    watch.start()
    try:
        # 1. release with a due date (in three days, 17 h, room time) and the « accepter » policy
        open_devoirs(room, page)
        assert "Pas encore distribué" in section(page).locator(".situation").inner_text()
        assert axe_violations(page) == []
        due_day = (french_time.local(datetime.now(UTC)) + timedelta(days=3)).date()
        section(page).get_by_label("Date d'échéance (facultative)").fill(due_day.isoformat())
        section(page).get_by_label("Heure (heure de Paris)").fill("17:00")
        section(page).get_by_label("accepter la copie, signalée en retard").check()
        section(page).get_by_role("button", name="Distribuer").click()
        wait_message(page, "Distribution terminée.", timeout=60_000)
        saved = deadlines.read(layout.outbound, MODULE)
        assert saved is not None and saved.late == deadlines.ACCEPT
        assert french_time.local(saved.due).date() == due_day
        assert french_time.local(saved.due).hour == 17
        situation = section(page).locator(".situation")
        situation.filter(has_text="à rendre avant").wait_for()
        assert "copie en retard acceptée" in situation.inner_text()
        assert (layout.outbound / MODULE).stat().st_uid == _uid(
            hub.env["INCUBO_HUB_COMPTE_CORRECTEUR"]
        )

        # 2. the learners log in, read the notice, find the module in « Commencez ici »;
        #    the trainer's page says who received it
        a, b = room.learners
        learners = {name: land_on_commencez_ici(hub, browser, name) for name in (a, b)}
        lab_a, lab_b = hub.labs(a, b)
        for name in (a, b):
            row(page, name).locator("td").first.filter(has_text="oui").wait_for(timeout=30_000)
        # a learner is not let in (the hub's 403: the service's role is the trainers' group)
        for path in (PAGE, PAGE + "/donnees"):
            refused = lab_a.session.get(f"{hub.url}{path}", timeout=60)
            assert refused.status_code == 403, (path, refused.status_code)
        posted = lab_a.session.post(f"{hub.url}{PAGE}/action", json={"action": "ramasser"})
        assert posted.status_code in (302, 403), posted.status_code
        assert not (room.course / "submitted").exists()

        # 3. both work; A hands in from « Mes modules » on time; the due date passes; B hands in
        #    late (« en retard » in B's panel and on the trainer's page)
        items = {}
        for lab, name in ((lab_a, a), (lab_b, b)):
            assert lab.run(WORK)["stdout"].startswith("ok"), f"{name}'s work failed"
            items[name] = mes_modules(learners[name][1], name)
        hand_in(learners[a][1], items[a])
        items[a].locator(".incubo-etat", has_text="rendu").wait_for(timeout=60_000)
        assert panel_violations(learners[a][1]) == []
        time.sleep(1.1)
        deadlines.write(layout.outbound, MODULE, deadlines.Deadline(datetime.now(UTC)))
        items[b].get_by_text(modules_page.LATE_ALLOWED).wait_for(timeout=30_000)
        hand_in(learners[b][1], items[b])
        items[b].locator(".incubo-etat", has_text="en retard").wait_for(timeout=60_000)
        assert not_french(learners[b][1], "« Mes modules », rendu en retard", b) == []
        row(page, b).filter(has_text="en retard").wait_for(timeout=15_000)
        assert "en retard" not in row(page, a).inner_text()
        assert "non" not in row(page, a).locator("td").nth(1).inner_text()

        # 4. collect, then grade with the progress shown live, sampling who runs what
        section(page).get_by_role("button", name="Ramasser").focus()  # from the keyboard
        page.keyboard.press("Enter")
        collected = wait_message(page, "Ramassage terminé.")
        assert f"Rendu(s) en retard, ramassé(s) : {b}." in collected, collected
        started = time.monotonic()
        section(page).get_by_role("button", name="Corriger").click()
        progress = section(page).locator(".progression")
        progress.wait_for(state="visible", timeout=120_000)
        wait_message(page, "Correction terminée.", timeout=600_000)
        graded_in = time.monotonic() - started
        assert "2 copie(s) corrigée(s) sur 2" in progress.inner_text()
        print(f"\ngraded from « Devoirs » in {graded_in:.1f} s")
        for name in (a, b):
            assert (room.course / "autograded" / name / MODULE).is_dir()

        # 5. feedback back to each learner
        section(page).get_by_role("button", name="Rendre les retours").click()
        wait_message(page, "Retour des copies terminé.")
        for name in (a, b):
            assert list(layout.feedback_of(name).glob("*.html")), name
            row(page, name).locator("td").nth(4).filter(has_text="oui").wait_for()
        assert axe_violations(page) == []
        watch.stop.set()
        watch.join()
        print(f"release to feedback: ps sampled {watch.samples} times")
        print("\n".join(f"  {user}: {args}" for user, args in sorted(watch.seen)))
        for action in (
            "release",
            "collect",
            "autograde",
            "feedback",
        ):  # each takes a second or more
            assert any(f"incubo grade {action}" in args for _u, args in watch.seen), action
        assert any("bwrap" in args or "ipykernel" in args for _u, args in watch.seen), watch.seen
        assert [p for p in watch.seen if p[0] == "root"] == [], watch.seen
        for name, (learner_ctx, learner_page) in learners.items():  # each reads their own
            read_feedback(browser, learner_ctx, learner_page, items[name], name)

        # 6. the grades for Excel: the bytes of `incubo grade export`
        with page.expect_download() as download:
            page.get_by_role("link", name="Exporter les notes (CSV pour Excel)").click()
        from_page = open(download.value.path(), "rb").read()  # noqa: SIM115
        cli = subprocess.run(
            [str(BIN / "incubo"), "grade", "export", "--course-dir", room.course],
            env=hub.env, capture_output=True, timeout=120,
        )  # fmt: skip
        assert cli.returncode == 0, cli.stderr
        assert from_page == cli.stdout and a.encode() in from_page

        # 7. the due date and policy hold through a hub restart (on disk, then on the page)
        deadlines.write(layout.outbound, MODULE, saved)
        assert hub.stop() == 0
        hub.start()
        hub.wait_running()
        page.goto(f"{hub.url}{PAGE}")
        page.wait_for_url(f"**{PAGE}", timeout=120_000)
        section(page).locator(".situation").filter(has_text=saved.french()).wait_for()
        assert "copie en retard acceptée" in section(page).locator(".situation").inner_text()
        assert (
            json.loads(deadlines.path(layout.outbound, MODULE).read_text())["retard"] == "accepte"
        )
    finally:
        watch.stop.set()
        for learner_ctx, _page in locals().get("learners", {}).values():
            learner_ctx.close()
        ctx.close()


def _uid(name: str) -> int:
    import pwd

    return pwd.getpwnam(name).pw_uid
