"""The memorisation report on a small hand-made cohort: no group of fewer than k agents is published.

Twelve agents, two parcours: `pa` (modules a1, 6 agents, and a2, 6 others) and `pb` (module b1,
3 agents: fewer than k = 5). Each agent studies two questions on day 0 and reviews them on days 2
and 9; the agents of b1 answer everything right, the others get their first review wrong. The
report (`incubo report memorisation`, real papermill run) must publish a1's and a2's figures or
hide them, and never b1's or pb's.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from harness import incubo, isolated_env
from test_report import tables

from incubo import xapi

K = 5
#: (parcours, module) -> the agents who study it (numbers)
GROUPS = {("pa", "a1"): range(0, 6), ("pa", "a2"): range(6, 12), ("pb", "b1"): range(12, 15)}
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
HIDDEN = ("< 5", "supprimé")


def agent(i: int) -> str:
    return f"memo{i:02d}x"


def write_cohort(course: Path) -> None:
    course.mkdir(parents=True)
    with open(course / "apprenants.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["identifiant", "prenom", "nom", "courriel", "service", "departement",
                      "tranche_age", "cohorte"])  # fmt: skip
        for (_p, _m), people in GROUPS.items():
            for i in people:
                out.writerow([agent(i), f"P{i}", f"N{i}", f"memo{i}@exemple.gouv.fr",
                              "Préfecture", "31", "40-49 ans", "test-memo"])  # fmt: skip
    lines = []
    for (parcours, module), people in GROUPS.items():
        for i in people:
            for day, ok in ((0, True), (2, parcours == "pb"), (9, True)):
                for q in ("q1", "q2"):
                    stamp = (START + timedelta(days=day, minutes=i)).isoformat()
                    stmt = xapi.statement(
                        "answered", parcours=parcours, module=module, kind="quiz", ident=q,
                        result={"success": ok}, actor_name=agent(i),
                        timestamp=stamp.replace("+00:00", "Z"),
                    )  # fmt: skip
                    lines.append(json.dumps(stmt))
    (course / "evenements").mkdir()
    (course / "evenements" / "memo.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    base = tmp_path_factory.mktemp("memo")
    env = isolated_env(base / "env")
    env["INCUBO_PSEUDONYM_KEY"] = "cle-de-test-secrete-0123456789abcdef"
    env.pop("INCUBO_PSEUDONYM_KEY_FILE", None)
    env.pop("INCUBO_ANALYSES_DIR", None)
    course, out = base / "cours", base / "rapports"
    write_cohort(course)
    result = incubo("report", "memorisation", "--course-dir", course, "-o", out, "-p", "k", str(K),
                    env=env, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return (out / "memorisation.html").read_text(encoding="utf-8")


def test_a_module_and_a_parcours_of_three_agents_are_hidden(page):
    found = tables(page)
    by_module, by_parcours = found["rappel-module"], found["rappel-parcours"]
    # b1 and pb: 3 agents, every figure hidden (their rate, 100 %, appears nowhere)
    for row in (by_module["b1"], by_parcours["pb"]):
        assert all(v in HIDDEN for v in row.values()), row
    # the groups of 6 are published with their size, or hidden too (secondary suppression):
    # never a published size under k
    for table in (by_module, by_parcours):
        for label, row in table.items():
            assert row["apprenants"] in HIDDEN or float(row["apprenants"]) >= K, (label, row)
    published = [m for m in ("a1", "a2") if by_module[m]["apprenants"] not in HIDDEN]
    assert published, by_module  # not everything hidden: the report still says something
    for m in published:
        assert by_module[m]["apprenants"] == "6" and by_module[m]["révisions"] == "24"
        assert by_module[m]["rappel (%)"].startswith("50")  # day 2 wrong, day 9 right
    assert by_parcours["pa"]["apprenants"] in ("12", *HIDDEN)
