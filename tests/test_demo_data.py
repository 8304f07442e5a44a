"""`incubo demo-data`: a realistic synthetic cohort, reproducible from its seed, read like real data."""

from __future__ import annotations

import csv
import json
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import pytest
from harness import assert_french_error, incubo

from incubo import xapi
from incubo.reports import demo, demo_gradebook

OCCITANIE = {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}
ACTIVITY = re.compile(
    r"^https?://[^ ]+/parcours/[^/]+(/module/[^/]+)?(/(exercice|lecon|quiz|questionnaire)/[^/]+)?$"
)


@pytest.fixture(scope="module")
def cohort(tmp_path_factory, session_env):
    course = tmp_path_factory.mktemp("demo") / "cours"
    result = incubo(
        "demo-data", "--learners", "30", "--seed", "11", "--course-dir", course, env=session_env
    )
    assert result.returncode == 0, result.stderr
    assert "30 apprenants" in result.stderr
    for name in (
        "apprenants.csv",
        "evenements/demo.jsonl",
        "gradebook.db",
    ):  # it says where it writes
        assert str(Path(course) / name) in result.stderr, result.stderr
    assert "incubo report progression --demo" in result.stderr
    return course


def test_writes_learners_statements_and_gradebook(cohort):
    assert (cohort / "apprenants.csv").exists()
    assert (cohort / "evenements" / "demo.jsonl").exists()
    assert (cohort / "gradebook.db").exists()


def test_learners_look_real_and_carry_the_research_attributes(cohort):
    with open(cohort / "apprenants.csv", encoding="utf-8") as fh:
        people = list(csv.DictReader(fh))
    assert len(people) == 30
    assert len({p["identifiant"] for p in people}) == 30
    for p in people:
        assert re.fullmatch(r"[a-z]+\d*", p["identifiant"])
        assert re.fullmatch(r"[^@\s]+@[a-z.-]+\.(gouv\.fr|fr)", p["courriel"])
        assert p["prenom"] and p["nom"]
        assert p["departement"] in OCCITANIE
        assert p["service"] in demo.SERVICES and p["tranche_age"] in demo.AGE_BANDS


def test_statements_follow_the_xapi_contract(cohort):
    verbs = set(xapi.VERBS.values())
    seen = set()
    moments = set()
    with open(cohort / "evenements" / "demo.jsonl", encoding="utf-8") as fh:
        for line in fh:
            s = json.loads(line)
            assert s["verb"]["id"] in verbs
            seen.add(s["verb"]["id"].rsplit("/", 1)[-1])
            assert ACTIVITY.match(s["object"]["id"]), s["object"]["id"]
            assert set(s["actor"]["account"]) == {"homePage", "name"}
            datetime.fromisoformat(s["timestamp"].replace("Z", "+00:00"))
            ext = s["context"].get("extensions", {})
            if "/questionnaire/" in s["object"]["id"]:
                assert s["object"]["definition"]["type"] == xapi.ACTIVITY_TYPES["questionnaire"]
                assert s["result"]["response"] in {"1", "2", "3", "4", "5"}
                moment = ext[xapi.extension("questionnaire-moment")]
                moments.add(moment)
            if s["verb"]["id"].endswith("/asked"):
                assert isinstance(ext[xapi.extension("hint-number")], int)
            if s["verb"]["id"].endswith("/attempted"):
                assert ext[xapi.extension("verdict")] in {"incorrect", "erreur", "correct"}
    assert {
        "experienced",
        "answered",
        "attempted",
        "asked",
        "passed",
        "completed",
        "scored",
    } <= seen
    assert moments == {"debut", "fin"}


def test_same_seed_same_data_other_seed_other_data(cohort, tmp_path, session_env):
    again, other = tmp_path / "a", tmp_path / "b"

    def make(course: Path, seed: str):
        return incubo(
            "demo-data", "--learners", "30", "--seed", seed, "--course-dir", course, env=session_env
        )

    with ThreadPoolExecutor(max_workers=2) as pool:  # two processes side by side: two cores
        results = list(pool.map(make, (again, other), ("11", "12")))
    for result in results:
        assert result.returncode == 0, result.stderr
    for name in ("apprenants.csv", "evenements/demo.jsonl"):
        assert (again / name).read_bytes() == (cohort / name).read_bytes()
        assert (other / name).read_bytes() != (cohort / name).read_bytes()


def _gradebook(course: Path):
    from nbgrader.api import Gradebook

    from incubo.grading.build_nbgrader import in_process_alembic_head

    with in_process_alembic_head():
        return Gradebook(demo_gradebook.gradebook_url(course))


def test_gradebook_is_a_real_nbgrader_gradebook(cohort):
    import sqlite3

    from incubo.grading.build_nbgrader import alembic_head

    # stamped with nbgrader's schema revision, as the build stamps its gradebook (tests/test_build.py
    # checks that revision against nbgrader's own lookup), so nbgrader's tools take it as theirs
    with sqlite3.connect(cohort / "gradebook.db") as db:
        stamped = db.execute("select version_num from alembic_version").fetchall()
    assert stamped == [(alembic_head(),)]
    gb = _gradebook(cohort)
    try:
        assert len(gb.students) == 30
        assert [a.name for a in gb.assignments][:1] == ["pap-01-premiers-calculs"]
        student = gb.students[0]
        assert student.first_name and "@" in student.email
        subs = gb.student_submissions(student.id)
        assert subs
        for sub in subs:
            assert 0 <= sub.score <= sub.max_score
    finally:
        gb.close()


def test_exercises_come_from_the_built_course_when_there_is_one(tmp_path):
    course = tmp_path / "cours"
    sidecar = course / "source" / "mod-a" / "incubo_exercices.json"
    sidecar.parent.mkdir(parents=True)
    sidecar.write_text(
        json.dumps(
            {
                "format": 1,
                "parcours": "mon-parcours",
                "module": "mod-a",
                "notebooks": {"01-lecon": {"type": "lecon"}, "02-exercices": {"type": "exercices"}},
                "exercices": {
                    "ex-un": {"notebook": "02-exercices", "points": 3, "indices": ["a"]},
                    "ex-deux": {"notebook": "02-exercices", "points": 1, "indices": []},
                },
            }
        )
    )
    demo.generate(course, learners=12, seed=1)
    text = (course / "evenements" / "demo.jsonl").read_text(encoding="utf-8")
    assert "/parcours/mon-parcours/module/mod-a/exercice/ex-un" in text
    assert "pap-01" not in text
    gb = _gradebook(course)
    try:
        assert {c.name for c in gb.find_notebook("02-exercices", "mod-a").grade_cells} == {
            "ex-un",
            "ex-deux",
        }
        assert gb.find_grade_cell("ex-un", "02-exercices", "mod-a").max_score == 3
    finally:
        gb.close()


def test_large_cohorts_use_bulk_inserts_into_the_same_schema(tmp_path, monkeypatch):
    monkeypatch.setattr(demo_gradebook, "BULK_FROM", 10)
    course = tmp_path / "cours"
    demo.generate(course, learners=15, seed=2)
    gb = _gradebook(course)
    try:
        assert len(gb.students) == 15
        sub = next(s for st in gb.students for s in gb.student_submissions(st.id))
        assert sub.notebooks and sub.notebooks[0].grades
        assert 0 <= sub.score <= sub.max_score
    finally:
        gb.close()


def test_never_overwrites_real_data(tmp_path, session_env):
    course = tmp_path / "cours"
    course.mkdir()
    (course / "apprenants.csv").write_text("identifiant\nvraie.personne\n")
    result = incubo("demo-data", "--learners", "5", "--course-dir", course, env=session_env)
    assert_french_error(result, "apprenants.csv", "--course-dir")
    assert (course / "apprenants.csv").read_text() == "identifiant\nvraie.personne\n"


def test_a_previous_demo_is_replaced(tmp_path):
    course = tmp_path / "cours"
    demo.generate(course, learners=6, seed=1)
    summary = demo.generate(course, learners=8, seed=1)
    assert summary["learners"] == 8
    assert len((course / "apprenants.csv").read_text().splitlines()) == 9


def test_bad_learner_count_is_a_french_error(tmp_path, session_env):
    result = incubo("demo-data", "--learners", "0", "--course-dir", tmp_path / "c", env=session_env)
    assert_french_error(result, "au moins 1")
    result = incubo(
        "demo-data", "--learners", "beaucoup", "--course-dir", tmp_path / "c", env=session_env
    )
    assert_french_error(result, "beaucoup")
