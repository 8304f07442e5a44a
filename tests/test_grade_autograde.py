"""`incubo grade`: same scores as stock nbgrader, hostile submissions contained, resumable, no hidden test leaks.

Everything runs for real: `nbgrader quickstart`, stock `nbgrader autograde`,
bubblewrap-sandboxed ipykernels. One course is built per module and copied
for each scenario.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import BIN, wait_for

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "grading"))
import cohort  # noqa: E402

from incubo.grading import autograde  # noqa: E402

CLEAN = {
    "etu-juste": "right",
    "etu-faux": "wrong",
    "etu-vide": "empty",
    "etu-moitie": "half",
    "etu-cache": "hidden",
}
CELL_TIMEOUT = 5
WORKERS = 2
NOTEBOOK_DEADLINE = 30
LIMITS = (
    f"temps_par_cellule: {CELL_TIMEOUT}\ntemps_par_notebook: {NOTEBOOK_DEADLINE}\nmemoire_mo: 768\n"
)

#: hostile fixture -> verdict code it must get (or one of a set)
EXPECTED: dict[str, str | set[str]] = {
    "boucle-infinie": "limite-temps",
    "boucle-sans-interruption": "noyau-bloque",
    "bombe-memoire": "limite-memoire",
    "bombe-fork": "limite-processus",
    # every copy forks too: stopped by the process cap, or by the time limit on a busy machine
    "bombe-fork-classique": {"limite-processus", "limite-temps"},
    "sys-exit": "sortie-programme",
    "os-exit": "processus-arrete",
    "lecture-carnet": "lecture-interdite",
    "lecture-source": "lecture-interdite",
    "lecture-autre-copie": "lecture-interdite",
    "ecriture-hors-copie": "ecriture-hors-copie",
    "reseau": "reseau",
    "showtraceback": "affichage-erreurs-modifie",
    "builtins": "contournement",
    "assert": "contournement",
    "test-modifie": "test-modifie",
    "test-supprime": "test-supprime",
    "test-retype": "test-retype",
    "sortie-10mo": "sortie-trop-volumineuse",
    "piege-lien": "fichiers-pieges",
    "json-corrompu": "notebook-illisible",
    "noyau-etranger": "noyau-etranger",
}
#: hostile fixture -> its status when not « signale » (graded and flagged)
STATUS = {"json-corrompu": "echec", "test-retype": "echec"}


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    from incubo.grading.sandbox import bwrap_works

    # the hostile verdicts (files read, network) depend on the sandbox: without it the tests would fail obscurely
    if not bwrap_works():
        pytest.fail(
            "bubblewrap manquant ou inutilisable ici : installez-le avec « apt-get install -y bubblewrap » (fait par .ci/run)."
        )
    return cohort.env(tmp_path_factory.mktemp("grade-env"))


@pytest.fixture(scope="module")
def base_course(tmp_path_factory, env) -> Path:
    course = cohort.make_course(tmp_path_factory.mktemp("grade-base"), env)
    for student, kind in CLEAN.items():
        cohort.submit(course, student, kind)
    return course


def copy_course(base: Path, dest: Path) -> Path:
    shutil.copytree(base, dest, symlinks=True)
    return dest


grades = cohort.grades


def submission_rows(course: Path) -> list:
    db = sqlite3.connect(course / "gradebook.db")
    rows = db.execute("SELECT student_id FROM submitted_assignment").fetchall()
    db.close()
    return rows


def verdict_codes(course: Path) -> dict[str, set[str]]:
    db = sqlite3.connect(course / "gradebook.db")
    out: dict[str, set[str]] = {}
    for student, code in db.execute("SELECT student, code FROM incubo_verdicts"):
        out.setdefault(student, set()).add(code)
    db.close()
    return out


def incubo(*args, env, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "incubo"), *map(str, args)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def graded(tmp_path_factory, base_course, env) -> tuple[Path, Path]:
    """The clean cohort graded by stock nbgrader and by us (CLI), on two copies."""
    root = tmp_path_factory.mktemp("grade-clean")
    stock = copy_course(base_course, root / "stock")
    ours = copy_course(base_course, root / "ours")
    # both at once, on their own copies: stock nbgrader runs one kernel at a time
    log = root / "stock.log"
    with open(log, "w") as err:
        stock_run = subprocess.Popen(
            [BIN / "nbgrader", "autograde", cohort.ASSIGNMENT],
            cwd=stock,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
        result = incubo(
            "grade", "autograde", cohort.ASSIGNMENT, "--workers", 2, "--course-dir", ours, env=env
        )
        stock_code = stock_run.wait(600)
    assert stock_code == 0, log.read_text()[-3000:]
    assert result.returncode == 0, result.stderr[-3000:]
    assert (
        "Correction terminée" in result.stderr
        and f"{len(CLEAN)} copie(s) corrigée(s)" in result.stderr
    ), result.stderr
    return stock, ours


def test_scores_equal_stock_nbgrader(graded):
    stock, ours = graded
    expected, got = grades(stock), grades(ours)
    assert expected and got == expected
    # the cohort is not trivial: right, wrong, empty and half-right answers score differently
    totals = {s: sum(a or 0 for (st, _n, _c), (a, _m) in got.items() if st == s) for s in CLEAN}
    assert (
        totals["etu-juste"] > totals["etu-moitie"] > totals["etu-faux"] == totals["etu-vide"] == 0
    )
    assert not verdict_codes(ours), "clean submissions get no verdict"


def test_second_run_changes_nothing(graded, env):
    _stock, ours = graded
    before = grades(ours)
    result = incubo("grade", "autograde", cohort.ASSIGNMENT, "--course-dir", ours, env=env)
    assert result.returncode == 0, result.stderr
    assert f"{len(CLEAN)} déjà corrigée(s)" in result.stderr
    assert grades(ours) == before and len(submission_rows(ours)) == len(CLEAN)


@dataclass
class HostileRun:
    course: Path
    summary: object
    elapsed: float
    connected: bool  # did anything reach the listener the « reseau » case dials?
    target: Path
    right: (
        dict  # cell -> score of the right answer (clean grading), what tampering would have earned
    )
    #: notebooks submitted (a hostile copy hands in problem1 only, unless its case needs both)
    notebooks: int


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, base_course, graded) -> HostileRun:
    """Every hostile submission and the clean cohort, graded together once (two workers)."""
    from incubo.grading.autograde import autograde

    root = tmp_path_factory.mktemp("grade-hostile")
    course = copy_course(base_course, root / "cours")
    (course / "incubo_grading.yml").write_text(LIMITS)
    target = root / "cible.txt"  # what the symlink trap points the grader's writes at
    target.write_text("intact")
    target.chmod(0o640)
    with socket.socket() as listener, pytest.MonkeyPatch.context() as mp:
        mp.setenv("INCUBO_EVENTS_FILE", str(root / "evenements.jsonl"))
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        for case in cohort.hostile_cases():
            dest = cohort.submit_hostile(course, f"h-{case}", case, port=listener.getsockname()[1])
            if "problem2" not in (cohort.HERE / "hostile" / f"{case}.json").read_text():
                # the hostile code is in problem1: a second, clean notebook proves nothing more
                (dest / "problem2.ipynb").unlink()
        notebooks = len(list((course / "submitted").glob(f"*/{cohort.ASSIGNMENT}/*.ipynb")))
        started = time.monotonic()
        summary = autograde(course, cohort.ASSIGNMENT, workers=WORKERS, show_progress=False)
        elapsed = time.monotonic() - started
        try:
            listener.accept()[0].close()
            connected = True
        except OSError:
            connected = False
    right = {
        cell: score
        for (student, _nb, cell), (score, _manual) in grades(graded[1]).items()
        if student == "etu-juste"
    }
    return HostileRun(course, summary, elapsed, connected, target, right, notebooks)


def _output_text(course: Path, student: str) -> str:
    nb = json.loads(
        (course / "autograded" / student / cohort.ASSIGNMENT / "problem1.ipynb").read_text()
    )
    return json.dumps([c.get("outputs", []) for c in nb["cells"]])


def _no_secret_read(run: HostileRun, case: str) -> None:
    text = _output_text(run.course, f"h-{case}")
    assert (
        "SQLite format" not in text and "HIDDEN TESTS" not in text and "schema_version" not in text
    )
    assert "refus" in text


def _tampering_earns_nothing(cell: str):
    """The tests that ran after the tampering are scored 0 (they would score full marks otherwise)."""

    def check(run: HostileRun, case: str) -> None:
        assert grades(run.course)[(f"h-{case}", "problem1", cell)][0] == 0 < run.right[cell]

    return check


def _export_says(flag: str, reason: str):
    def check(run: HostileRun, case: str) -> None:
        from incubo.grading.export import rows

        row = next(r for r in rows(run.course) if r["apprenant"] == f"h-{case}")
        assert flag in row["signalements"] and reason in row["raisons"], row

    return check


def _nothing_written(run: HostileRun) -> None:
    assert not list(run.course.rglob("pirate*")) and not Path("/usr/pirate.txt").exists()


def _trap_target_untouched(run: HostileRun) -> None:
    assert run.target.read_text() == "intact" and (run.target.stat().st_mode & 0o777) == 0o640


#: case -> what else a trainer would notice about it, beyond its verdict
CONSEQUENCES = {
    "lecture-carnet": _no_secret_read,
    "lecture-source": _no_secret_read,
    "lecture-autre-copie": _no_secret_read,
    "assert": _tampering_earns_nothing("correct_squares"),
    "builtins": _tampering_earns_nothing("correct_sum_of_squares"),
    "os-exit": _tampering_earns_nothing("correct_squares"),
    "reseau": _export_says("reseau", "réseau"),
    "ecriture-hors-copie": lambda run, case: _nothing_written(run),
    "piege-lien": lambda run, case: _trap_target_untouched(run),
}


def test_every_hostile_fixture_has_an_expected_verdict():
    assert set(cohort.hostile_cases()) == set(EXPECTED)


@pytest.mark.parametrize("case", cohort.hostile_cases())
def test_hostile_case(hostile, case):
    """This hostile notebook gets its verdict and its status, and whatever it tried had no effect."""
    assert case in EXPECTED, f"no expected verdict for the fixture hostile/{case}.json"
    wanted = EXPECTED[case] if isinstance(EXPECTED[case], set) else {EXPECTED[case]}
    got = verdict_codes(hostile.course).get(f"h-{case}", set())
    assert wanted & got, f"{case}: verdicts {sorted(got)}, expected one of {sorted(wanted)}"
    # a file nbgrader cannot grade fails (corrupted JSON; a retyped test cell in an nbformat 4.0 file,
    # which stock nbgrader cannot repair either); the others are graded and flagged
    assert hostile.summary.statuses[f"h-{case}"] == STATUS.get(case, "signale")
    if case in CONSEQUENCES:
        CONSEQUENCES[case](hostile, case)


def test_hostile_run_is_bounded_and_clean_copies_keep_their_scores(hostile, graded):
    # bound: every notebook may use its whole deadline once per worker lane, plus 3 s of overhead each
    notebooks = hostile.notebooks
    assert notebooks >= len(EXPECTED) + 2 * len(CLEAN)
    assert hostile.elapsed < (2 * NOTEBOOK_DEADLINE + 3 * notebooks / WORKERS) + 30, hostile.elapsed
    assert not hostile.summary.errors, hostile.summary.errors
    assert hostile.summary.graded == len(EXPECTED) + len(CLEAN)
    assert hostile.summary.flagged == len(EXPECTED) - len(STATUS) and hostile.summary.failed == len(
        STATUS
    )
    clean = {k: v for k, v in grades(hostile.course).items() if k[0] in CLEAN}
    reference = {k: v for k, v in grades(graded[1]).items() if k[0] in CLEAN}
    assert len({k[0] for k in reference}) == len(CLEAN) and clean == reference
    assert not set(CLEAN) & set(verdict_codes(hostile.course))


def test_nothing_escaped_the_hostile_run(hostile):
    from incubo.grading.feedback import generate_feedback, visible_text

    assert not hostile.connected, "a kernel reached the network"
    # the feedback of hostile submissions leaks no hidden test either
    pages = generate_feedback(hostile.course, cohort.ASSIGNMENT)
    assert len(pages) >= len(EXPECTED)
    for page in pages:
        assert "cache-secret-9431" not in visible_text(page.read_text(encoding="utf-8")), page
    # no sandbox process outlives the run (the fork bomb's children included)
    wait_for(lambda: not _sandbox_processes(), timeout=10, what="no sandbox process left")


#: Sandbox processes older than this module belong to an earlier run, not to these tests.
_MODULE_START = time.time()


def _sandbox_processes() -> list[int]:
    """Processes of a sandbox account (uid range of the grading sandbox) started by these tests."""
    import psutil

    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if 610000 <= proc.stat().st_uid < 660000:
                    if psutil.Process(int(proc.name)).create_time() >= _MODULE_START - 1:
                        pids.append(int(proc.name))
            except (OSError, psutil.Error):
                pass
    return pids


def test_sigkill_then_restart_gives_the_same_gradebook(tmp_path, base_course, graded, env):
    _stock, reference = graded
    course = copy_course(base_course, tmp_path / "cours")
    proc = subprocess.Popen(
        [BIN / "incubo", "grade", "autograde", cohort.ASSIGNMENT, "--workers", "2", "--course-dir", course],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def one_committed() -> bool:
        try:
            db = sqlite3.connect(course / "gradebook.db", timeout=0.1)
            n = db.execute("SELECT COUNT(*) FROM incubo_submissions").fetchone()[0]
            db.close()
            return n >= 1
        except sqlite3.Error:
            return False

    wait_for(one_committed, timeout=120, what="a first graded submission", proc=proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    db = sqlite3.connect(course / "gradebook.db")
    committed = [s for (s,) in db.execute("SELECT student FROM incubo_submissions")]
    db.close()
    assert committed and set(committed) <= set(CLEAN)
    wait_for(lambda: not _sandbox_processes(), timeout=20, what="sandboxes gone with their grader")
    record = course / autograde.WORK_DIR / autograde.KERNELS_RECORD
    left = Path(record.read_text().strip())  # the killed run's kernels' folder, in /tmp
    assert left.is_dir()
    result = incubo(
        "grade", "autograde", cohort.ASSIGNMENT, "--workers", 2, "--course-dir", course, env=env
    )
    assert result.returncode == 0, result.stderr
    assert not left.exists() and not record.exists()  # removed by the next run, which ended well
    # what was committed before the kill is kept, not graded again; the rest is graded now
    assert f"{len(committed)} déjà corrigée(s)" in result.stderr, result.stderr
    assert grades(course) == grades(reference)
    assert sorted(submission_rows(course)) == sorted(submission_rows(reference))
    assert sorted(p.name for p in (course / "autograded").iterdir()) == sorted(CLEAN)


LAUNCHER = """
import os, signal, subprocess, sys
from pathlib import Path
from incubo.grading.limits import Limits
from incubo.grading.sandbox import Lifeline, SandboxPlan

root, marker = Path(sys.argv[1]), sys.argv[2]
plan, lifeline = SandboxPlan(Limits(), root / "cours", True), Lifeline()
for n in range(4):
    work = root / f"copie-{n}"
    work.mkdir()
    prefix = plan.command_prefix(
        workdir=work, mountpoint=work, runtime_dir=work, uid=plan.next_uid(), lifeline=lifeline.read_fd
    )
    subprocess.Popen(
        [*prefix, "/bin/sleep", marker], start_new_session=True, **lifeline.launch_options(sandboxed=True)
    )
os.kill(os.getpid(), signal.SIGKILL)  # while bubblewrap is still setting the sandboxes up
"""


def test_a_grader_killed_while_sandboxes_start_leaves_no_process(tmp_path, env):
    """bubblewrap binds a sandbox to its parent only once it is set up: killed earlier, the
    grader used to leave that kernel running for good (and the next run raced with it)."""
    marker = f"{time.time() % 1000 + 1000:.3f}"  # `sleep` accepts it; unique to this test

    def left() -> list[str]:
        found = []
        for proc in Path("/proc").iterdir():
            try:
                if proc.name.isdigit() and marker in (proc / "cmdline").read_text():
                    found.append(proc.name)
            except OSError:
                pass
        return found

    done = subprocess.run([sys.executable, "-c", LAUNCHER, tmp_path, marker], env=env)
    assert done.returncode == -signal.SIGKILL
    # a bubblewrap still setting its sandbox up carries the marker too until it runs the watchdog,
    # which then ends at once: on a loaded machine that set-up took more than 10 s once
    try:
        wait_for(lambda: not left(), timeout=30, what="no sandbox left by the killed grader")
    except TimeoutError:
        alive = [(p, (Path("/proc") / p / "cmdline").read_bytes()[:300]) for p in left()]
        raise AssertionError(f"sandbox processes left: {alive}") from None


def test_feedback_never_shows_a_hidden_test(graded, env):
    from incubo.grading.feedback import visible_text

    stock, ours = graded
    result = incubo("grade", "feedback", cohort.ASSIGNMENT, "--course-dir", ours, env=env)
    assert result.returncode == 0, result.stderr
    pages = sorted((ours / "feedback").rglob("*.html"))
    assert len(pages) == 2 * len(CLEAN)
    for page in pages:
        text = visible_text(page.read_text(encoding="utf-8"))
        assert cohort.HIDDEN_LINE not in text and "cache-secret-9431" not in text, page
        assert "Note :" in text and "Retour sur" in text
    wrong = visible_text(
        (ours / "feedback" / "etu-faux" / cohort.ASSIGNMENT / "problem1.html").read_text()
    )
    assert "AssertionError" in wrong  # visible failures are still shown
    hidden = visible_text(
        (ours / "feedback" / "etu-cache" / cohort.ASSIGNMENT / "problem1.html").read_text()
    )
    assert (
        "Un test caché de cette cellule n'est pas passé." in hidden
    )  # a failed hidden test: said, not shown
    # the same check catches stock nbgrader's leak (#917), so it is a real check
    subprocess.run(
        [BIN / "nbgrader", "generate_feedback", cohort.ASSIGNMENT],
        cwd=stock,
        env=env,
        check=True,
        capture_output=True,
    )
    leaked = visible_text(
        (stock / "feedback" / "etu-cache" / cohort.ASSIGNMENT / "problem1.html").read_text()
    )
    assert "cache-secret-9431" in leaked


def test_export_opens_in_french_excel_and_moodle_keeps_its_format(graded, env, tmp_path):
    import pandas as pd

    _stock, ours = graded
    out = tmp_path / "notes.csv"
    result = incubo("grade", "export", "-o", out, "--course-dir", ours, env=env)
    assert result.returncode == 0, result.stderr
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "sans BOM, Excel en français casse les accents"
    header = raw.decode("utf-8-sig").splitlines()[0]
    assert header.split(";") == [
        "apprenant",
        "devoir",
        "note",
        "note_max",
        "statut",
        "signalements",
        "raisons",
    ]
    # what French Excel does: `;` separates columns, a comma is the decimal mark
    table = pd.read_csv(out, sep=";", decimal=",", encoding="utf-8-sig", dtype={"apprenant": str})
    assert set(table["apprenant"]) == set(CLEAN)
    by = table.set_index("apprenant")
    assert (
        by.loc["etu-juste", "note"] > by.loc["etu-faux", "note"] == 0
        and by.loc["etu-juste", "note_max"] == 13
    )
    # an empty copy is « non rendu », a wrong one is graded
    assert by.loc["etu-vide", "statut"] == "non rendu" and by.loc["etu-faux", "statut"].startswith(
        "note"
    )
    assert (
        "pas de réponse" in by.loc["etu-moitie", "raisons"]
        and "Part" in by.loc["etu-moitie", "raisons"]
    )
    plain = tmp_path / "notes-standard.csv"
    assert (
        incubo(
            "grade", "export", "--csv-standard", "-o", plain, "--course-dir", ours, env=env
        ).returncode
        == 0
    )
    assert not plain.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(csv.DictReader(plain.open(encoding="utf-8")))[0].keys() >= {
        "apprenant",
        "note",
        "statut",
    }
    # Moodle's import reads its own CSV: `,`, UTF-8, decimal point (PHP is_numeric), one row per learner
    moodle = tmp_path / "moodle.csv"
    assert (
        incubo(
            "grade", "export", "--moodle", "-o", moodle, "--course-dir", ours, env=env
        ).returncode
        == 0
    )
    header, *lines = list(csv.reader(moodle.open(encoding="utf-8")))
    assert header == [
        "Nom d'utilisateur",
        cohort.ASSIGNMENT,
        f"Commentaire {cohort.ASSIGNMENT}",
    ] and len(lines) == len(CLEAN)
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", line[1]) for line in lines), lines


def test_fractional_grades_get_a_decimal_comma():
    from incubo.grading.export import COLUMNS, _table_bytes

    row = dict.fromkeys(COLUMNS, "")
    row.update(apprenant="a", devoir="d", note="2.5", note_max="4", statut="note")
    french = _table_bytes([row], plain=False).decode("utf-8-sig")
    assert french.splitlines()[1].startswith("a;d;2,5;4;note")
    assert (
        _table_bytes([row], plain=True).decode("utf-8").splitlines()[1].startswith("a,d,2.5,4,note")
    )


def test_grade_commands_find_the_course_from_inside_it(graded, env):
    _stock, ours = graded
    result = subprocess.run(
        [str(BIN / "incubo"), "grade", "export", "--assignment", cohort.ASSIGNMENT],
        cwd=ours,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert b"etu-juste" in result.stdout


def test_feedback_names_questions_and_says_no_answer(graded, env):
    from incubo.grading.feedback import visible_text

    _stock, ours = graded
    result = incubo(
        "grade",
        "feedback",
        cohort.ASSIGNMENT,
        "--student",
        "etu-vide",
        "--course-dir",
        ours,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    text = visible_text(
        (ours / "feedback" / "etu-vide" / cohort.ASSIGNMENT / "problem1.html").read_text()
    )
    assert "NotImplementedError" not in text and "Pas de réponse." in text
    assert "Part A (2 points)" in text and "correct_squares" not in text


def test_grading_emits_statements(graded, env):
    _stock, ours = graded
    journal = Path(env["INCUBO_EVENTS_FILE"])
    statements = [json.loads(line) for line in journal.read_text().splitlines()]
    mine = [s for s in statements if s["actor"]["account"]["name"] == "etu-juste"]
    verbs = {s["verb"]["id"].rsplit("/", 1)[1] for s in mine}
    assert {"scored", "passed"} <= verbs
    assert any(
        s["verb"]["id"].endswith("failed")
        for s in statements
        if s["actor"]["account"]["name"] == "etu-faux"
    )
    # ids are derived from the submission: a resumed run re-sends the same statement, never a new one
    scored = {
        s["id"]
        for s in mine
        if s["verb"]["id"].endswith("scored") and s["object"]["id"].endswith("/correct_squares")
    }
    assert len(scored) == 1


def test_unknown_assignment_is_a_french_error(graded, env):
    _stock, ours = graded
    result = incubo("grade", "autograde", "ps2", "--course-dir", ours, env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "n'existe pas" in result.stderr and "« ps1 »" in result.stderr


def test_kernel_runs_as_its_own_user_with_a_clean_environment(
    tmp_path, base_course, graded, monkeypatch
):
    import nbformat

    from incubo.grading.autograde import autograde

    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "evenements.jsonl"))
    monkeypatch.setenv("INCUBO_LRS_AUTH", "formateur:secret-du-formateur")
    course = copy_course(base_course, tmp_path / "cours")
    for student in CLEAN:
        shutil.rmtree(course / "submitted" / student)
    dest = cohort.submit(course, "etu-sonde", "right")
    nb = nbformat.read(dest / "problem1.ipynb", as_version=4)
    probe = (
        "import os, json\n"
        "print('SONDE', json.dumps({'grading': os.environ.get('INCUBO_GRADING'), 'uid': os.getuid(),"
        " 'cwd': os.getcwd(), 'secret': os.environ.get('INCUBO_LRS_AUTH')}))"
    )
    nb.cells.insert(1, nbformat.v4.new_code_cell(probe))
    nbformat.write(nb, dest / "problem1.ipynb")
    summary = autograde(course, cohort.ASSIGNMENT, workers=1, show_progress=False)
    assert summary.graded == 1 and not summary.errors
    out = nbformat.read(
        course / "autograded" / "etu-sonde" / cohort.ASSIGNMENT / "problem1.ipynb", as_version=4
    )
    line = next(
        o["text"] for c in out.cells for o in c.get("outputs", []) if "SONDE" in o.get("text", "")
    )
    seen = json.loads(line.split("SONDE", 1)[1])
    assert seen["grading"] == "1" and seen["secret"] is None
    assert seen["cwd"] == str(course / "autograded" / "etu-sonde" / cohort.ASSIGNMENT)
    if os.geteuid() == 0:
        assert seen["uid"] >= 610000
    right = {k[1:]: v for k, v in grades(graded[1]).items() if k[0] == "etu-juste"}
    assert {k[1:]: v for k, v in grades(course).items() if k[0] == "etu-sonde"} == right


def test_unknown_student_is_a_french_error(base_course, tmp_path):
    from incubo.errors import IncuboError
    from incubo.grading.autograde import autograde

    course = copy_course(base_course, tmp_path / "cours")
    with pytest.raises(IncuboError, match="Aucune copie"):
        autograde(course, cohort.ASSIGNMENT, student="personne", show_progress=False)
    (course / "gradebook.db").unlink()
    with pytest.raises(IncuboError, match="Aucun carnet de notes"):
        autograde(course, cohort.ASSIGNMENT, show_progress=False)


def test_without_bubblewrap_the_scores_are_the_same(tmp_path, base_course, graded, monkeypatch):
    """Where bubblewrap cannot run (some containers), an unprivileged grader's limits still apply
    and scores do not change. As root it is refused (tests/test_room_attacks_root.py): here the
    grader is told it is not root, to compare the scores with the sandbox off."""
    from incubo.grading import autograde as module
    from incubo.grading.autograde import autograde

    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "evenements.jsonl"))
    course = copy_course(base_course, tmp_path / "cours")
    (course / "incubo_grading.yml").write_text("isolation: false\n")
    monkeypatch.setattr(module, "is_root", lambda: False)
    summary = autograde(course, cohort.ASSIGNMENT, workers=2, show_progress=False)
    assert summary.graded == len(CLEAN) and not summary.errors and not summary.flagged
    assert grades(course) == grades(graded[1])


def test_limits_file_errors_are_french(tmp_path):
    from incubo.errors import IncuboError
    from incubo.grading.limits import Limits, load_limits

    assert load_limits(tmp_path) == Limits()
    (tmp_path / "incubo_grading.yml").write_text("temps_par_celule: 10\n")
    with pytest.raises(IncuboError, match="Vouliez-vous dire « temps_par_cellule »"):
        load_limits(tmp_path)
    (tmp_path / "incubo_grading.yml").write_text("memoire_mo: beaucoup\n")
    with pytest.raises(IncuboError, match="doit être un nombre"):
        load_limits(tmp_path)
    (tmp_path / "incubo_grading.yml").write_text("memoire_mo: 512\nisolation: false\n")
    assert load_limits(tmp_path).memory_mib == 512 and load_limits(tmp_path).isolation is False


def test_nothing_collected_says_so(base_course, tmp_path, env):
    """A trainer who forgot to collect is told, instead of a silent « 0 copie »."""
    course = copy_course(base_course, tmp_path / "cours")
    shutil.rmtree(course / "submitted", ignore_errors=True)
    result = incubo("grade", "autograde", cohort.ASSIGNMENT, "--course-dir", course, env=env)
    assert result.returncode == 0, result.stderr
    assert "aucune copie rendue" in result.stderr
    assert "nbgrader collect" in result.stderr
