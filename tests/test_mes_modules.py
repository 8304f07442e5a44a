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
from harness import ROOT, incubo

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
