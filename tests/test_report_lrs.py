"""`incubo report` reading statements from a real Ralph LRS (xAPI GET, paging with `more`)."""

from __future__ import annotations

import json

import pytest
import requests
from harness import assert_french_error, incubo, isolated_env
from test_lrs import PASSWORD, RALPH_BIN, USER, Ralph
from test_report import KEY, handmade, tables


@pytest.fixture(scope="module")
def lrs_with_cohort(tmp_path_factory):
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    base = tmp_path_factory.mktemp("lrs-report")
    env = isolated_env(base / "env")
    lrs = Ralph(base / "ralph", env)
    lrs.start()
    try:
        course = base / "cours"
        events = handmade.write(course)
        statements = [json.loads(line) for line in events.read_text(encoding="utf-8").splitlines()]
        for i in range(0, len(statements), 200):
            r = requests.post(
                lrs.url + "/xAPI/statements",
                json=statements[i : i + 200],
                auth=(USER, PASSWORD),
                headers={"X-Experience-API-Version": "1.0.3"},
                timeout=30,
            )
            assert r.status_code == 200, r.text
        events.unlink()  # the LRS is now the only source
        env.update(
            INCUBO_PSEUDONYM_KEY=KEY,
            INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}",
            INCUBO_LRS_PAGE_SIZE="100",
        )
        yield lrs, course, env, len(statements)
    finally:
        lrs.stop()


def test_report_from_the_lrs_gives_the_same_numbers_as_from_files(lrs_with_cohort, tmp_path):
    lrs, course, env, n = lrs_with_cohort
    assert n > 250  # three pages of 100
    out = tmp_path / "rapports"
    result = incubo(
        "report",
        "progression",
        "-p",
        "evenements",
        lrs.url,
        "--course-dir",
        course,
        "-o",
        out,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    page = (out / "progression.html").read_text(encoding="utf-8")
    rates = tables(page)["achevement"]
    for module in ("m1", "m2"):
        opened, done = handmade.FACTS["opened"][module], handmade.FACTS["completed"][module]
        assert rates[module]["commencé"] == str(len(opened)) and rates[module]["terminé"] == str(
            len(done)
        )
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for person in handmade.PEOPLE:
                assert person[0] not in text and person[3] not in text


def test_wrong_lrs_password_is_refused_before_anything_runs(lrs_with_cohort, tmp_path):
    lrs, course, env, _ = lrs_with_cohort
    bad = dict(env, INCUBO_LRS_AUTH=f"{USER}:mauvais")
    out = tmp_path / "rapports"
    result = incubo(
        "report",
        "progression",
        "-p",
        "evenements",
        lrs.url,
        "--course-dir",
        course,
        "-o",
        out,
        env=bad,
    )
    assert_french_error(result, "refuse l'accès", "INCUBO_LRS_AUTH")
    assert not out.exists()
