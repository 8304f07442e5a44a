"""Privacy of research outputs: keyed pseudonyms, small groups hidden, hidden cells never recoverable.

The attacker here is independent of the code under test: an integer programme
(scipy's `milp`) that knows every published cell and total, that a « < k »
cell holds 1 to k−1 and a « supprimé » cell any count ≥ 0, and tries to pin
each hidden cell to a single value.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from harness import ROOT
from scipy.optimize import Bounds, LinearConstraint, milp

from incubo.errors import IncuboError
from incubo.reports import privacy
from incubo.reports.load import _pseudonymise_statement, open_data
from incubo.reports.suppression import SECONDARY, TOTAL, protect

K = 5


def _published_to_system(pub: pd.DataFrame, k: int):
    """Unknowns, bounds and equations an outsider can write from a published table with margins."""
    hidden = [(r, c) for r in pub.index for c in pub.columns if isinstance(pub.loc[r, c], str)]
    index = {x: n for n, x in enumerate(hidden)}
    lo = [1 if pub.loc[x] == f"< {k}" else 0 for x in hidden]
    hi = [k - 1 if pub.loc[x] == f"< {k}" else 10_000 for x in hidden]
    rows, rhs = [], []
    inner_cols = [c for c in pub.columns if c != TOTAL]
    inner_rows = [r for r in pub.index if r != TOTAL]
    lines = []
    if TOTAL in pub.columns:
        lines += [[(r, c) for c in inner_cols] + [(r, TOTAL)] for r in pub.index]
    if TOTAL in pub.index:
        lines += [[(r, c) for r in inner_rows] + [(TOTAL, c)] for c in pub.columns]
    for line in lines:
        coeffs, b = np.zeros(len(hidden)), 0.0
        for x in line:
            sign = -1.0 if TOTAL in (x[0], x[1]) and x == line[-1] else 1.0
            if x in index:
                coeffs[index[x]] += sign
            else:
                b -= sign * float(pub.loc[x])
        if coeffs.any():
            rows.append(coeffs)
            rhs.append(b)
    return hidden, np.array(lo, float), np.array(hi, float), rows, rhs


def recoverable(pub: pd.DataFrame, k: int) -> list:
    """Hidden cells whose value is the same in every table consistent with what is published."""
    hidden, lo, hi, rows, rhs = _published_to_system(pub, k)
    if not hidden or not rows:
        return []
    cons = LinearConstraint(np.array(rows), rhs, rhs)
    found = []
    for n, x in enumerate(hidden):
        c = np.zeros(len(hidden))
        c[n] = 1
        a = milp(c, constraints=cons, integrality=np.ones(len(hidden)), bounds=Bounds(lo, hi))
        b = milp(-c, constraints=cons, integrality=np.ones(len(hidden)), bounds=Bounds(lo, hi))
        assert a.success and b.success, "the published table is inconsistent"
        if round(a.fun) == round(-b.fun):
            found.append(x)
    return found


def random_tables(seed: int, n: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        r, c = rng.integers(1, 6), rng.integers(2, 6)
        values = np.where(
            rng.random((r, c)) < 0.3, rng.integers(0, 5, (r, c)), rng.integers(5, 40, (r, c))
        )
        yield pd.DataFrame(
            values, index=[f"r{i}" for i in range(r)], columns=[f"c{j}" for j in range(c)]
        )


@pytest.mark.parametrize("margins", [(True, True), (True, False), (False, True)])
def test_every_small_group_is_suppressed_and_none_is_recoverable(margins):
    row_totals, col_totals = margins
    for table in random_tables(seed=hash(margins) % 1000, n=25):
        pub = protect(table, K, row_totals=row_totals, col_totals=col_totals).published()
        for r in table.index:
            for c in table.columns:
                if 0 < table.loc[r, c] < K:
                    assert pub.loc[r, c] == f"< {K}", (table, pub)
                elif not isinstance(pub.loc[r, c], str):
                    assert pub.loc[r, c] == table.loc[r, c]
        for _label, value in np.ndenumerate(pub.to_numpy()):
            if not isinstance(value, str):
                assert value == 0 or value >= K, pub  # margins too
        assert recoverable(pub, K) == [], (table, pub)


def test_one_dimensional_counts_with_their_total():
    sizes = pd.Series(
        {"Préfecture": 10, "DDT(M)": 4, "DREAL": 0, "Rectorat": 23}, name="apprenants"
    )
    pub = protect(sizes, K).published()
    assert pub.loc["DDT(M)", "apprenants"] == "< 5"
    assert pub.loc["Préfecture", "apprenants"] == SECONDARY  # else 37 − 10 − 0 − 23 = 4
    assert pub.loc[TOTAL, "apprenants"] == 37 and pub.loc["DREAL", "apprenants"] == 0
    assert recoverable(pub, K) == []


def test_the_attacker_is_not_vacuous():
    """Primary suppression alone, with totals, gives cells away: the check above would see it."""
    table = pd.DataFrame({"a": [10, 2], "b": [7, 9]}, index=["x", "y"])
    naive = table.astype(object)
    naive.loc["y", "a"] = "< 5"
    naive[TOTAL] = table.sum(axis=1)
    naive.loc[TOTAL] = list(table.sum()) + [int(table.to_numpy().sum())]
    assert recoverable(naive, K) == [("y", "a")]


def test_small_cells_pinned_by_their_bounds_get_more_suppression():
    # two « < 5 » cells summing to 2 would both be 1: protect must hide more.
    table = pd.DataFrame({"a": [1, 10], "b": [1, 12], "c": [6, 20]}, index=["x", "y"])
    pub = protect(table, K, col_totals=False).published()
    assert recoverable(pub, K) == []
    assert pub.loc["x", "c"] == SECONDARY


# --- pseudonyms and keys ----------------------------------------------------------------------------


def test_pseudonyms_are_keyed_and_stable():
    a = privacy.pseudonym("jdupont", b"k" * 32)
    assert a == privacy.pseudonym("jdupont", b"k" * 32)
    assert a != privacy.pseudonym("jdupont", b"l" * 32)
    assert a.startswith("p-") and "jdupont" not in a and len(a) == 18


def test_key_comes_from_the_environment_or_a_file_outside_the_repository(monkeypatch, tmp_path):
    for var in (privacy.ENV_KEY, privacy.ENV_KEY_FILE, privacy.ENV_DEMO):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(IncuboError) as err:
        privacy.load_key()
    assert err.value.code == "cle-absente" and "--demo" in err.value.message
    assert privacy.load_key(demo=True) == privacy.DEMO_KEY
    key_file = tmp_path / "cle"
    key_file.write_text("une-cle-secrete-assez-longue\n")
    monkeypatch.setenv(privacy.ENV_KEY_FILE, str(key_file))
    assert privacy.load_key() == b"une-cle-secrete-assez-longue"
    monkeypatch.setenv(privacy.ENV_KEY_FILE, str(ROOT / "pyproject.toml"))
    with pytest.raises(IncuboError) as err:
        privacy.load_key()
    assert err.value.code == "cle-dans-depot"
    monkeypatch.setenv(privacy.ENV_KEY, "courte")
    with pytest.raises(IncuboError) as err:
        privacy.load_key()
    assert err.value.code == "cle-courte"


def _handmade():
    spec = importlib.util.spec_from_file_location(
        "handmade", ROOT / "tests/fixtures/reports/handmade.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loaded_tables_hold_pseudonyms_and_no_identity(tmp_path):
    handmade = _handmade()
    course = tmp_path / "cours"
    handmade.write(course)
    data = open_data(str(course), key=b"cle-de-test-0123456789")
    identities = {tok for person in handmade.PEOPLE for tok in person[:4]}
    for table in ("statements", "learners"):
        frame = data.sql(f"select * from {table}")
        assert set(frame.columns).isdisjoint({"nom", "prenom", "courriel", "identifiant", "name"})
        for col in frame.columns:
            assert identities.isdisjoint(set(frame[col].dropna().astype(str))), (table, col)
        assert frame["learner"].str.match(r"^p-[0-9a-f]{16}$").all()
    assert data.n_learners == handmade.N
    assert data.scalar("select count(distinct learner) from learners") == handmade.N


def test_statements_copied_from_an_lrs_are_pseudonymised_before_being_written():
    stmt = {
        "actor": {"objectType": "Agent", "account": {"homePage": "https://hub", "name": "jdupont"}},
        "authority": {"mbox": "mailto:admin@exemple.fr"},
        "verb": {"id": "x"},
    }
    out = _pseudonymise_statement(stmt, b"k" * 32)
    assert "jdupont" not in str(out) and "admin@" not in str(out)
    assert out["actor"]["account"]["name"] == privacy.pseudonym("jdupont", b"k" * 32)
