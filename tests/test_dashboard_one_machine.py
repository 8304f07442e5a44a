"""One machine, no option: a learner's check appears on the trainer's dashboard.

The learner side writes to its journal (`~/.incubo/evenements.jsonl`, the
README's default) and the dashboard, started with a bare `incubo apps` from
the project folder, finds it: `incubo.events.room_journals` is the one rule
both sides follow.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from harness import BIN, ROOT, free_port, http_ok, incubo, isolated_env, running

pytestmark = pytest.mark.browser

MODULE = "pp-01-decouvrir"
EXERCISE = "ex-pp-courriers"
TIMEOUT = 60_000


def learner_checks_a_right_answer(release: Path, work: Path, env: dict) -> None:
    """What a learner does in JupyterLab: write the answer, run the check cell (in a real kernel)."""
    shutil.copytree(release, work)
    path = next(work.glob("*exercices*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    answer = next(
        c
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("grade_id") == f"{EXERCISE}-reponse"
    )
    answer.source = "total = 12 + 30"
    nbformat.write(nb, path)
    done = subprocess.run(
        [
            BIN / "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--allow-errors",
            "--inplace",
            path.name,
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]


def test_a_learners_check_appears_on_the_dashboard_without_any_option(tmp_path, page):
    env = isolated_env(tmp_path / "env")
    for name in (
        "INCUBO_EVENTS_FILE",
        "INCUBO_EVENTS_DIR",
        "INCUBO_COURSE_DIR",
        "INCUBO_COURSES_DIR",
    ):
        env.pop(name, None)  # the README's defaults, nothing else
    env["INCUBO_DASHBOARD_REFRESH"] = "2"
    project = tmp_path / "projet"
    project.mkdir()
    shutil.copytree(ROOT / "courses" / "premiers-pas", project / "courses" / "premiers-pas")
    built = incubo("build", env=env, cwd=project)
    assert built.returncode == 0, built.stderr

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # no preheated kernels: they would run all four apps at start-up, on the same cores as the page
    cmd = [BIN / "incubo", "apps", "--port", port, "--pool", "0"]
    with running(
        cmd,
        env=env,
        cwd=project,
        ready=lambda: http_ok(url + "/"),
        timeout=120,
        log=tmp_path / "voila.log",
    ):
        page.goto(f"{url}/voila/render/tableau-de-bord.ipynb", timeout=TIMEOUT)
        page.wait_for_selector(".incubo-app", timeout=TIMEOUT)
        assert "0 personne(s) dans la salle" in page.inner_text("body")

        learner_checks_a_right_answer(
            project / "_build" / "cours" / "release" / MODULE, tmp_path / "copie", env
        )
        journal = Path(env["HOME"]) / ".incubo" / "evenements.jsonl"
        assert EXERCISE in journal.read_text(
            encoding="utf-8"
        )  # the learner side used its default journal

        # the page refreshes by itself: the learner and the passed exercise appear
        page.get_by_text(re.compile(r"1 personne\(s\) dans la salle")).wait_for(timeout=TIMEOUT)
        row = page.locator("tr").filter(has_text=EXERCISE)
        row.first.wait_for(timeout=TIMEOUT)
        assert re.search(r"1 / 1\b", row.first.inner_text()), row.first.inner_text()
