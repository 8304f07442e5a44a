"""The gradebook on a real PostgreSQL: resumable autograde (SIGKILL), and a research report.

One temporary cluster per module (Debian's binaries, `postgres_support`),
one database per test.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from harness import BIN, incubo, isolated_env, wait_for
from postgres_support import copy_database, postgres_cluster

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "grading"))
import cohort  # noqa: E402

CLEAN = {"etu-juste": "right", "etu-faux": "wrong", "etu-vide": "empty", "etu-moitie": "half"}


@pytest.fixture(scope="module")
def pg():
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return cohort.env(tmp_path_factory.mktemp("pg-env"))


@pytest.fixture(scope="module")
def pg_course(tmp_path_factory, pg, env) -> tuple[Path, str]:
    """The course built once by nbgrader on a PostgreSQL gradebook; tests take copies (`course_on`)."""
    url = pg.create_database("base")
    course = cohort.make_course(
        tmp_path_factory.mktemp("pg-base"), env, config_extra=f"c.CourseDirectory.db_url = {url!r}"
    )
    return course, url


def course_on(pg_course: tuple[Path, str], dest: Path, prefix: str) -> tuple[Path, str]:
    """A copy of the base course, on a copy of its gradebook (a database cloned from the base one)."""
    import psycopg2

    base, base_url = pg_course
    parts = sa.engine.make_url(base_url)
    name = f"{prefix}_{os.urandom(4).hex()}"
    conn = psycopg2.connect(
        host=parts.host,
        port=parts.port,
        user=parts.username,
        password=parts.password,
        dbname="postgres",
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{parts.database}"')
    conn.close()
    url = base_url.rsplit("/", 1)[0] + f"/{name}"
    course = dest / "cours"
    shutil.copytree(base, course, symlinks=True)
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text(encoding="utf-8").replace(base_url, url), encoding="utf-8")
    return course, url


def pg_grades(url: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(url) as gb:
        return {
            (sub.student.id, nb.name, g.name): (g.auto_score, g.needs_manual_grade)
            for sub in gb.find_assignment(cohort.ASSIGNMENT).submissions
            for nb in sub.notebooks
            for g in nb.grades
        }


def scalar(url: str, query: str):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(query)).scalar()
    finally:
        engine.dispose()


def test_autograde_killed_then_restarted_on_postgresql(tmp_path, pg_course, env):
    course, url = course_on(pg_course, tmp_path, "carnet")
    assert not (course / "gradebook.db").exists(), "the gradebook is in PostgreSQL, not in a file"
    for student, kind in CLEAN.items():
        cohort.submit(course, student, kind)
    proc = subprocess.Popen(
        [BIN / "incubo", "grade", "autograde", cohort.ASSIGNMENT, "--workers", "2", "--course-dir", course],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip

    def one_committed() -> bool:
        try:
            return (scalar(url, "SELECT COUNT(*) FROM incubo_submissions") or 0) >= 1
        except sa.exc.SQLAlchemyError:
            return False

    wait_for(one_committed, timeout=180, what="a first graded submission", proc=proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    committed = scalar(url, "SELECT COUNT(*) FROM incubo_submissions")
    assert 1 <= committed <= len(CLEAN)

    result = incubo(
        "grade", "autograde", cohort.ASSIGNMENT, "--workers", 2, "--course-dir", course, env=env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # what was committed before the kill is kept, not graded again
    assert f"{committed} déjà corrigée(s)" in result.stderr, result.stderr
    got = pg_grades(url)
    # every grade once, for every student
    assert scalar(url, "SELECT COUNT(*) FROM submitted_assignment") == len(CLEAN)
    assert {s for s, _n, _c in got} == set(CLEAN)
    assert scalar(url, "SELECT COUNT(*) FROM grade") == len(got)
    totals = {s: sum(a or 0 for (st, _n, _c), (a, _m) in got.items() if st == s) for s in CLEAN}
    assert (
        totals["etu-juste"] > totals["etu-moitie"] > totals["etu-faux"] == totals["etu-vide"] == 0
    )
    assert sorted(p.name for p in (course / "autograded").iterdir()) == sorted(CLEAN)
    # a third run finds everything done
    again = incubo("grade", "autograde", cohort.ASSIGNMENT, "--course-dir", course, env=env)
    assert again.returncode == 0 and f"{len(CLEAN)} déjà corrigée(s)" in again.stderr, again.stderr
    assert pg_grades(url) == got


def test_report_reads_a_postgresql_gradebook(tmp_path, pg):
    from nbgrader.api import Base

    renv = isolated_env(tmp_path / "env")
    renv.pop("INCUBO_PSEUDONYM_KEY", None)
    course = tmp_path / "cours"
    made = incubo("demo-data", "--learners", "40", "--seed", "3", "--course-dir", course, env=renv)
    assert made.returncode == 0, made.stderr
    url = pg.create_database("rapport")
    copy_database(f"sqlite:///{course / 'gradebook.db'}", url, Base.metadata)
    runs = {"sqlite": [], "postgresql": ["-p", "carnet", url]}

    def report(label: str):
        return incubo(
            "report",
            "progression",
            "--course-dir",
            course,
            "-o",
            tmp_path / label,
            "--demo",
            *runs[label],
            env=renv,
            timeout=300,
        )

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(runs)) as pool:  # two independent processes, at the same time
        results = dict(zip(runs, pool.map(report, runs), strict=True))
    pages = {}
    for label, done in results.items():
        assert done.returncode == 0, done.stderr[-3000:]
        pages[label] = (tmp_path / label / "progression.html").read_text(encoding="utf-8")
    from test_report import tables

    notes_sqlite, notes_pg = tables(pages["sqlite"])["notes"], tables(pages["postgresql"])["notes"]
    assert notes_pg and notes_pg == notes_sqlite
    assert url.split("@")[0].split(":")[-1] not in pages["postgresql"], "no password in the report"


def test_grading_jobs_run_side_by_side_on_one_postgresql_gradebook(tmp_path, pg_course, env):
    """What each Kubernetes Job's container runs, here two at once, each in its own folder."""
    import yaml

    shared = tmp_path / "partage"
    shared.mkdir()
    course, url = course_on(pg_course, shared, "region")
    pair = {
        "etu-juste": "right",
        "etu-faux": "wrong",
    }  # one per Job: lean, the point is two Jobs at once
    for student, kind in pair.items():
        cohort.submit(course, student, kind)
    made = incubo(
        "grade",
        "k8s-jobs",
        cohort.ASSIGNMENT,
        "--par",
        1,
        "--course-dir",
        course,
        "-o",
        tmp_path / "j.yaml",
        env=env,
    )
    assert made.returncode == 0, made.stderr
    jobs = [d for d in yaml.safe_load_all((tmp_path / "j.yaml").read_text()) if d["kind"] == "Job"]
    assert len(jobs) == 2
    procs = []
    for n, job in enumerate(jobs):
        container = job["spec"]["template"]["spec"]["containers"][0]
        job_env = dict(
            env,
            PATH=f"{BIN}:{env['PATH']}",
            PARTAGE=str(shared),
            TRAVAIL=str(tmp_path / f"travail-{n}"),
        )
        job_env.update(
            {
                e["name"]: e["value"]
                for e in container["env"]
                if "value" in e and e["name"] not in ("PARTAGE", "TRAVAIL", "LANG")
            }
        )
        job_env["GRADEBOOK_DB_URL"] = url  # the Secret's value
        log = open(tmp_path / f"job-{n}.log", "wb")  # noqa: SIM115
        procs.append(
            (
                subprocess.Popen(
                    container["command"],
                    env=job_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                ),
                log,
            )
        )
    for proc, log in procs:
        assert proc.wait(600) == 0, (tmp_path / f"job-{procs.index((proc, log))}.log").read_text()[
            -3000:
        ]
        log.close()
    got = pg_grades(url)
    assert {s for s, _n, _c in got} == set(pair)
    assert scalar(url, "SELECT COUNT(*) FROM submitted_assignment") == len(pair)
    totals = {s: sum(a or 0 for (st, _n, _c), (a, _m) in got.items() if st == s) for s in pair}
    assert totals["etu-juste"] > totals["etu-faux"] == 0
    # graded copies are back on the shared volume, nothing half-written left
    assert sorted(p.name for p in (course / "autograded").iterdir()) == sorted(pair)
    assert not list((course / "autograded").glob(f"*/.{cohort.ASSIGNMENT}.nouveau"))
