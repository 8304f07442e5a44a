"""`incubo report`: the four analyses on demo data and on a hand-made cohort, offline HTML, errors, privacy.

Report executions are shared per module (a papermill run costs a few
seconds); each test only reads their outputs.
"""

from __future__ import annotations

import html as htmllib
import importlib.util
import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from harness import ROOT, assert_french_error, incubo, isolated_env
from scipy.stats import pointbiserialr, rankdata
from scipy.stats import wilcoxon as scipy_wilcoxon

REPORTS = ["progression", "exercices", "autoevaluation", "engagement", "memorisation"]
KEY = "cle-de-test-secrete-0123456789abcdef"
FIXTURES = ROOT / "tests" / "fixtures" / "reports"


def _handmade():
    spec = importlib.util.spec_from_file_location("handmade", FIXTURES / "handmade.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


handmade = _handmade()


# --- helpers -----------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Tables of a report by id: rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._current: str | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "id" in attrs:
            self._current = attrs["id"]
            self.tables[self._current] = []
        elif self._current and tag == "tr":
            self.tables[self._current].append([])
        elif self._current and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._current = None
        elif self._current and tag in ("td", "th") and self._cell is not None:
            self.tables[self._current][-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables(page: str) -> dict[str, dict[str, dict[str, str]]]:
    """{table id: {row label: {column: text}}}."""
    parser = _Tables()
    parser.feed(page)
    out = {}
    for ident, rows in parser.tables.items():
        header = rows[0]
        out[ident] = {r[0]: dict(zip(header[1:], r[1:], strict=False)) for r in rows[1:]}
    return out


def fr(value: float, decimals: int = 1) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def num(text: str) -> float:
    return float(text.replace("\u202f", "").replace(",", "."))


def visible_text(page: str) -> str:
    """What a reader can see or a screen reader can say: tags and embedded images removed, entities decoded."""
    page = re.sub(r"data:image/[a-z]+;base64,[A-Za-z0-9+/=\s]+", "", page)
    alts = " ".join(re.findall(r'alt="([^"]*)"', page))
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", page) + " " + alts)


def run_report(name, course, out, env, *extra):
    return incubo("report", name, "--course-dir", course, "-o", out, *extra, env=env, timeout=300)


def run_reports(jobs: dict[str, tuple]) -> dict:
    """`run_report(*args)` for each job, two at a time (each is one process and one kernel, mostly
    on one core): {job: result}. Every job writes its own files (`<name>.html`, `.<name>-travail`)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {job: pool.submit(run_report, *args) for job, args in jobs.items()}
        return {job: f.result() for job, f in futures.items()}


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    base = tmp_path_factory.mktemp("report-env")
    e = isolated_env(base)
    e["INCUBO_PSEUDONYM_KEY"] = KEY
    e.pop("INCUBO_PSEUDONYM_KEY_FILE", None)
    e.pop("INCUBO_ANALYSES_DIR", None)
    e["_BASE"] = str(base)
    return e


@pytest.fixture(scope="module")
def demo(tmp_path_factory, env):
    """`incubo demo-data` then the four reports in demo mode."""
    root = tmp_path_factory.mktemp("demo")
    course, out = root / "cours", root / "rapports"
    made = incubo("demo-data", "--learners", "80", "--seed", "7", "--course-dir", course, env=env)
    assert made.returncode == 0, made.stderr
    denv = dict(env)
    denv.pop("INCUBO_PSEUDONYM_KEY")
    results = run_reports({name: (name, course, out, denv, "--demo") for name in REPORTS})
    return course, out, results


@pytest.fixture(scope="module")
def hand_data(tmp_path_factory):
    """The hand-made cohort (no report run)."""
    course = tmp_path_factory.mktemp("hand") / "cours"
    handmade.write(course)
    return course


@pytest.fixture(scope="module")
def hand(hand_data, env):
    """The hand-made cohort, three analyses run with a real key, and one failing analysis."""
    course, out = hand_data, hand_data.parent / "rapports"
    jobs = {
        name: (name, course, out, env) for name in ["progression", "exercices", "autoevaluation"]
    }
    jobs["filtres"] = (
        "progression",
        course,
        out / "filtres",
        env,
        "-p",
        "cohorte",
        "test-2026",
        "-p",
        "parcours",
        "pp",
        "-p",
        "debut",
        "2026-01-01",
        "-p",
        "fin",
        "2026-01-15",
    )
    fenv = dict(env, INCUBO_ANALYSES_DIR=str(FIXTURES))
    jobs["panne"] = ("panne", course, out, fenv)
    results = run_reports(jobs)
    pages = {
        n: (out / f"{n}.html").read_text(encoding="utf-8")
        for n in results
        if (out / f"{n}.html").exists()
    }
    return course, out, results, pages


# --- the four analyses on demo data ------------------------------------------------------------


@pytest.mark.parametrize("name", REPORTS)
def test_each_analysis_runs_on_demo_data_and_gives_an_offline_html_report(demo, name):
    course, out, results = demo
    result = results[name]
    assert result.returncode == 0, result.stderr
    assert "Rapport écrit" in result.stderr
    assert (
        f"Rapport « {name} »" in result.stderr and "cellule/s" in result.stderr
    )  # papermill's progress bar, in French
    page = (out / f"{name}.html").read_text(encoding="utf-8")
    assert '<html lang="fr">' in page
    # says so on its first screen: before any table or figure
    banner = page.find("Données de démonstration")
    assert banner != -1 and "données fictives" in visible_text(page)
    assert banner < min(i for i in (page.find("<table"), page.find("<img")) if i != -1)
    images = re.findall(r"<img [^>]*>", page)
    assert images, "no figure"
    for img in images:
        assert 'src="data:image/png;base64,' in img
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and len(alt.group(1)) > 40 and "sans description" not in alt.group(1), img[:200]
    # offline: nothing loaded from the network, no MathJax or require.js
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']?(https?:)?//", page, re.I)
    assert "mathjax" not in page.lower() and "require.js" not in page.lower()
    # no code, French explanations of each figure and of their limits
    assert "open_data(" not in page and "import " not in visible_text(page)
    assert page.count("<strong>Figure.</strong>") == len(images)
    assert "Limites" in page
    assert not list(out.glob(".*-travail")), "work folder left behind"


def test_papermill_reads_each_notebook_parameters():
    import papermill

    for name in REPORTS:
        params = papermill.inspect_notebook(str(ROOT / "notebooks" / "analyses" / f"{name}.ipynb"))
        assert {
            "cohorte",
            "parcours",
            "debut",
            "fin",
            "k",
            "evenements",
            "carnet",
            "apprenants",
        } <= set(params)
        assert params["k"]["inferred_type_name"] == "int" and params["k"]["default"] == "5"
        assert params["cohorte"]["help"]


def test_cli_help_notebook_of_papermill_works(env):
    import subprocess
    import sys

    papermill = Path(sys.executable).parent / "papermill"
    result = subprocess.run(
        [str(papermill), "--help-notebook", str(ROOT / "notebooks/analyses/progression.ipynb")],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 0 and "k: int (default 5)" in result.stdout


def test_memorisation_publishes_no_group_under_k_and_fits_a_forgetting_curve(demo):
    """Spaced review on demo data: recall by interval, module and parcours, due reviews done."""
    _course, out, _results = demo
    page = (out / "memorisation.html").read_text(encoding="utf-8")
    found = tables(page)
    for ident in ("rappel-intervalle", "rappel-module", "rappel-parcours", "revisions-dues"):
        assert found.get(ident), ident
        for label, row in found[ident].items():
            agents = row["apprenants"]
            if agents in ("< 5", "supprimé"):
                assert all(v in ("< 5", "supprimé") for c, v in row.items() if c != "apprenants"), (
                    ident,
                    label,
                    row,
                )
            else:
                assert num(agents) >= 5, (ident, label, row)
    assert "1 jour" in found["rappel-intervalle"]
    assert set(found["revisions-dues"]) == {"faite à temps", "faite en retard", "pas faite"}
    text = visible_text(page)
    assert re.search(r"demi-vie de [\d,]+ jours", text), text[:3000]
    assert "Choix de recherche : 0 apprenant(s) exclu(s)" in text


# --- key numbers on the hand-made cohort --------------------------------------------------------


def test_completion_rates_match_the_facts(hand):
    *_, results, pages = hand
    assert results["progression"].returncode == 0, results["progression"].stderr
    rates = tables(pages["progression"])["achevement"]
    for module in ("m1", "m2"):
        opened, done = handmade.FACTS["opened"][module], handmade.FACTS["completed"][module]
        assert rates[module]["commencé"] == str(len(opened))
        assert rates[module]["terminé"] == str(len(done))
        assert rates[module]["taux d'achèvement (%)"] == fr(100 * len(done) / len(opened))


def test_cohort_parcours_and_dates_filter_the_data(hand):
    course, out, results, _ = hand
    assert results["filtres"].returncode == 0, results["filtres"].stderr
    page = (out / "filtres" / "progression.html").read_text(encoding="utf-8")
    assert (
        "cohorte : test-2026 ; parcours : pp ; période : du 01/01/2026 au 15/01/2026" in page
    )  # dates in French
    # learner i opens m1 on 5 January + i + 3 days and, when they do, completes it the same day
    rates = tables(page)["achevement"]
    in_range = [i for i in handmade.FACTS["opened"]["m1"] if 5 + i + 3 <= 15]
    assert rates["m1"]["commencé"] == str(len(in_range))
    assert rates["m1"]["terminé"] == str(len(set(in_range) & handmade.FACTS["completed"]["m1"]))


def test_success_rates_and_hint_use_match_the_facts(hand):
    *_, results, pages = hand
    assert results["exercices"].returncode == 0, results["exercices"].stderr
    items = tables(pages["exercices"])["exercices"]
    for ex, (_module, attempted, passed, hinted) in handmade.FACTS["exercises"].items():
        row = items[ex]
        assert row["apprenants"] == str(len(attempted))
        assert num(row["taux de réussite (%)"]) == round(100 * len(passed) / len(attempted), 1)
        assert num(row["recours aux indices (%)"]) == round(
            100 * len(hinted & attempted) / len(attempted), 1
        )
        tries = [(i % 3) + 1 for i in passed]
        assert num(row["essais avant réussite (moyenne)"]) == round(sum(tries) / len(tries), 2)


def test_wilcoxon_statistic_matches_an_independent_computation(hand):
    *_, results, pages = hand
    assert results["autoevaluation"].returncode == 0, results["autoevaluation"].stderr
    w = tables(pages["autoevaluation"])["wilcoxon"]
    pairs = [
        (handmade.FACTS["debut"][i], handmade.fin_value(i))
        for i in range(len(handmade.FACTS["delta"]))
    ]
    d = [f - b for b, f in pairs if f != b]
    ranks = rankdata([abs(x) for x in d])
    w_plus = sum(r for r, x in zip(ranks, d, strict=False) if x > 0)
    w_minus = sum(r for r, x in zip(ranks, d, strict=False) if x < 0)
    expected = scipy_wilcoxon([f for _, f in pairs], [b for b, _ in pairs])
    assert w["apprenants appariés"]["valeur"] == str(len(pairs))
    assert num(w["W+ (somme des rangs des hausses)"]["valeur"]) == w_plus
    assert num(w["W− (somme des rangs des baisses)"]["valeur"]) == w_minus
    assert num(w["statistique de Wilcoxon (min(W+, W−))"]["valeur"]) == min(w_plus, w_minus)
    assert float(expected.statistic) == min(w_plus, w_minus)
    assert num(w["p (bilatéral)"]["valeur"]) == pytest.approx(expected.pvalue, abs=5e-5)
    assert num(w["taille d'effet r (bisériale de rang)"]["valeur"]) == pytest.approx(
        (w_plus - w_minus) / (w_plus + w_minus), abs=5e-5
    )


def _point_biserial(item: str, *, attempters_only: bool, same_parcours: bool, learners) -> float:
    """Item–rest point-biserial correlation computed from `handmade.DISCRIMINATION`, independently of the report."""
    parcours, _, attempted, passed = handmade.DISCRIMINATION[item]
    who = sorted(attempted) if attempters_only else sorted(learners)
    others = [
        o
        for o, (p, _, _, _) in handmade.DISCRIMINATION.items()
        if o != item and (p == parcours or not same_parcours)
    ]
    x = [int(i in passed) for i in who]
    rest = [sum(i in handmade.DISCRIMINATION[o][3] for o in others) for i in who]
    return float(pointbiserialr(x, rest).statistic)


def test_discrimination_is_computed_over_attempters_within_the_parcours(tmp_path, env):
    course = tmp_path / "cours"
    handmade.write_discrimination(course)
    result = run_report("exercices", course, tmp_path / "rapports", env)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "rapports" / "exercices.html").read_text(encoding="utf-8")
    items = tables(page)["exercices"]
    everyone = range(12)
    for item in ("x1", "x2", "x3", "y1", "y2"):
        expected = _point_biserial(
            item, attempters_only=True, same_parcours=True, learners=everyone
        )
        # the cohort is built so that counting non-attempters as failing, or mixing parcours, gives another value
        naive = _point_biserial(item, attempters_only=False, same_parcours=False, learners=everyone)
        assert abs(expected - naive) > 0.1, item
        assert abs(num(items[item]["discrimination"]) - expected) <= 0.005 + 1e-9, (
            item,
            items[item]["discrimination"],
            expected,
        )
    # x4: 3 attempters (< k = 5): suppressed like the other columns
    assert items["x4"]["discrimination"] == "supprimé"
    assert items["x4"]["taux de réussite (%)"] == "supprimé"
    # the definition is written under the table, in French
    definition = visible_text(page)
    assert (
        "Discrimination." in definition
        and "ne jamais l'avoir tenté ne compte pas comme un échec" in definition
    )
    assert page.index('id="exercices"') < page.index("definition-discrimination")


# --- privacy on the produced reports ----------------------------------------------------------------


def _files(*folders: Path):
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                yield path


def test_privacy_no_identity_in_any_report_or_intermediate_file_hand_made(hand, env):
    course, out, results, _ = hand
    identities = [tok for person in handmade.PEOPLE for tok in person[:4]]
    raw = (course / "apprenants.csv").read_text(encoding="utf-8")
    assert all(tok in raw for tok in identities)  # the test would see them
    written = list(_files(out, Path(env["_BASE"])))
    assert any(p.suffix == ".html" for p in written) and any(
        p.name == "panne-echec.ipynb" for p in written
    )
    for path in written:
        text = path.read_bytes().decode("utf-8", "replace")
        for tok in identities:
            assert tok not in text, (path, tok)


def test_privacy_no_identity_in_demo_reports(demo, env):
    course, out, _ = demo
    import csv

    with open(course / "apprenants.csv", encoding="utf-8") as fh:
        people = list(csv.DictReader(fh))
    assert len(people) == 80
    for path in _files(out):
        page = path.read_text(encoding="utf-8")
        seen = visible_text(page)
        for p in people:
            assert p["courriel"] not in page, (path, p["courriel"])
            assert f"{p['prenom']} {p['nom']}" not in seen, path
            assert not re.search(rf"\b{re.escape(p['identifiant'])}\b", seen), (
                path,
                p["identifiant"],
            )


def test_privacy_small_groups_are_suppressed_with_secondary_suppression(hand):
    *_, pages = hand
    funnel = tables(pages["progression"])["entonnoir"]
    # m1: 2 learners only opened it (< 5), so a second cell of the row is hidden; the total stays.
    assert funnel["m1"]["ouvert, aucun exercice tenté"] == "< 5"
    assert funnel["m1"]["exercices tentés, non terminé"] == "supprimé"
    assert funnel["m1"]["Total"] == "20" and funnel["m1"]["terminé"] == "12"
    # the two hidden cells sum to 8 and the small one is 1 to 4: the other is 4 to 7, never known exactly
    groups = tables(pages["autoevaluation"])["groupes"]
    # 4 paired learners at the DDT(M): hidden; with the published total of 14, the Préfecture's 10 is hidden too
    assert groups["DDT(M)"]["apprenants"] == "< 5"
    assert groups["Préfecture"]["apprenants"] == "supprimé"
    assert "DREAL" not in groups or groups["DREAL"]["apprenants"] in ("< 5", "supprimé", "0")


def test_failing_cell_names_the_cell_and_keeps_the_executed_notebook(hand):
    course, out, results, _ = hand
    result = results["panne"]
    assert_french_error(
        result, "cellule de code n° 4", "resultat = 1 / 0", "ZeroDivisionError", "conservé"
    )
    kept = out / "panne-echec.ipynb"
    assert kept.exists()
    text = kept.read_text(encoding="utf-8")
    assert "p-" in text and "ZeroDivisionError" in text  # pseudonyms are what the notebook holds
    assert not (out / "panne.html").exists()


# --- bad input: French message, non-zero exit, nothing executed ----------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (
            ["progresion"],
            [
                "Rapport inconnu",
                "« progression »",
                "autoevaluation, engagement, exercices, memorisation, progression",
            ],
        ),
        (["progression", "-p", "kk", "3"], ["Paramètre inconnu", "« k »"]),
        (["progression", "-p", "k", "trois"], ["Valeur invalide", "« k »", "nombre entier"]),
        (["progression", "-p", "k", "1"], ["Valeur invalide", "entre 2 et 1000"]),
        (["progression", "-p", "debut", "07/09/2026"], ["Valeur invalide", "AAAA-MM-JJ"]),
        (
            ["progression", "-p", "debut", "2026-09-30", "-p", "fin", "2026-09-01"],
            ["après la date de fin"],
        ),
        (["autoevaluation", "-p", "groupe", "servise"], ["Valeur invalide", "« service »"]),
        (["progression", "-p", "cohorte", "test-2025"], ["Cohorte inconnue", "« test-2026 »"]),
        (["progression", "-p", "parcours", "qq"], ["Parcours inconnu", "pp"]),
        (["progression", "-p", "evenements", "/nulle/part.jsonl"], ["n'existe pas"]),
        (["progression", "-p", "k"], ["-p"]),
    ],
)
def test_bad_parameters_are_refused_before_anything_runs(tmp_path, env, hand_data, args, fragments):
    course = hand_data
    out = tmp_path / "sortie"
    result = incubo("report", *args, "--course-dir", course, "-o", out, env=env)
    assert_french_error(result, *fragments)
    assert "cellule/s" not in result.stderr
    assert not out.exists()


def test_no_key_is_refused_unless_demo(tmp_path, env, hand_data):
    course = hand_data
    out = tmp_path / "sortie"
    no_key = {k: v for k, v in env.items() if k != "INCUBO_PSEUDONYM_KEY"}
    result = incubo("report", "progression", "--course-dir", course, "-o", out, env=no_key)
    assert_french_error(result, "clé de pseudonymisation", "INCUBO_PSEUDONYM_KEY", "--demo")
    assert not out.exists()


def test_key_file_inside_the_repository_is_refused(tmp_path, env, hand_data):
    key_file = ROOT / "tests" / "fixtures" / "reports" / "handmade.py"  # any file of the repository
    no_key = {k: v for k, v in env.items() if k != "INCUBO_PSEUDONYM_KEY"}
    no_key["INCUBO_PSEUDONYM_KEY_FILE"] = str(key_file)
    result = incubo(
        "report", "progression", "--course-dir", hand_data, "-o", tmp_path / "s", env=no_key
    )
    assert_french_error(result, "dans le dépôt")


def test_no_statements_is_a_french_error(tmp_path, env):
    result = incubo(
        "report", "progression", "--course-dir", tmp_path / "vide", "-o", tmp_path / "s", env=env
    )
    assert_french_error(result, "Aucune source de statements", "incubo demo-data")
    assert not (tmp_path / "s").exists()


def test_gradebook_is_read_through_sqlalchemy(demo):
    course, out, _ = demo
    page = (out / "progression.html").read_text(encoding="utf-8")
    notes = tables(page)["notes"]
    with sqlite3.connect(course / "gradebook.db") as db:
        submissions = dict(
            db.execute(
                "select a.name, count(*) from submitted_assignment sa join assignment a on a.id = sa.assignment_id group by 1"
            )
        )
    from incubo.reports.titles import module_titles

    by_title = {
        title: ident for ident, title in module_titles().items()
    }  # modules are shown by title
    assert set(notes) - {"Total"} <= set(by_title), notes.keys()
    for module, row in notes.items():
        if (
            module != "Total"
            and row["Total"] not in ("supprimé",)
            and not row["Total"].startswith("<")
        ):
            assert int(row["Total"].replace("\u202f", "")) == submissions[by_title[module]]


# --- the small-group threshold ------------------------------------------------------------------


def test_k_below_5_with_a_real_key_is_refused_and_nothing_is_written(tmp_path, env, hand_data):
    out = tmp_path / "sortie"
    result = incubo(
        "report", "progression", "-p", "k", "2", "--course-dir", hand_data, "-o", out, env=env
    )
    assert_french_error(result, "seuil de masquage", "moins de 5", "--derogation-k")
    assert "cellule/s" not in result.stderr
    assert not out.exists()


def test_k_override_for_a_research_protocol_is_logged_and_shown_first(tmp_path, env, hand_data):
    out = tmp_path / "sortie"
    result = incubo(
        "report",
        "progression",
        "-p",
        "k",
        "3",
        "--derogation-k",
        "CPP-2026-014",
        "--course-dir",
        hand_data,
        "-o",
        out,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "Dérogation" in result.stderr and "CPP-2026-014" in result.stderr
    log_line = (out / "derogations-k.log").read_text(encoding="utf-8")
    assert (
        "rapport=progression" in log_line
        and "k=3" in log_line
        and "protocole=CPP-2026-014" in log_line
    )
    page = (out / "progression.html").read_text(encoding="utf-8")
    text = htmllib.unescape(re.sub(r"<[^>]+>", " ", page))
    assert "Données de démonstration" not in text  # hand-made data, a real key: not a demo
    notice = text.find("Dérogation au seuil de masquage")
    assert notice != -1 and "CPP-2026-014" in text
    # on the first page: before any table or figure of the report
    assert page.find('class="derogation"') < min(
        i for i in (page.find("<table"), page.find("<img")) if i != -1
    )


# --- figures: masked parts are drawn as masked ----------------------------------------------------


def _small_module(course: Path) -> None:
    """Module m3: 9 learners, 3 at each stage (every cell < 5, the total of 9 published)."""
    from datetime import timedelta

    from incubo import xapi

    lines = []
    for i in range(9):
        t = handmade.START + timedelta(days=40 + i)
        who = handmade.PEOPLE[i][0]
        lines.append(
            xapi.statement(
                "experienced",
                parcours="pp",
                actor_name=who,
                timestamp=handmade._ts(t),
                module="m3",
                kind="lecon",
                ident="m3-lecon",
            )
        )
        if i >= 3:
            t += timedelta(minutes=2)
            lines.append(
                xapi.statement(
                    "attempted",
                    parcours="pp",
                    actor_name=who,
                    timestamp=handmade._ts(t),
                    module="m3",
                    kind="exercice",
                    ident="e4",
                    result={"success": False},
                    extensions={"verdict": "incorrect", "attempt": 1},
                )
            )
        if i >= 6:
            t += timedelta(minutes=2)
            lines.append(
                xapi.statement(
                    "completed",
                    parcours="pp",
                    actor_name=who,
                    timestamp=handmade._ts(t),
                    module="m3",
                )
            )
    (course / "evenements" / "petit-module.jsonl").write_text(
        "".join(json.dumps(s) + "\n" for s in lines), encoding="utf-8"
    )


def test_progression_figure_draws_masked_parts_as_masked(tmp_path, env):
    course = tmp_path / "cours"
    handmade.write(course)
    _small_module(course)
    result = run_report("progression", course, tmp_path / "rapports", env)
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "rapports" / "progression.html").read_text(encoding="utf-8")
    alt = htmllib.unescape(re.findall(r'alt="([^"]*)"', page)[0])
    # the module of 9 learners has a bar of 9, all of it hatched « masqué »: not missing, not « 0 % terminé »
    stages = "« ouvert, aucun exercice tenté », « exercices tentés, non terminé », « terminé »"
    assert f"m3 : 9 apprenants — masqué 9 (étapes {stages})" in alt, alt
    # m1 (20 learners, 2 who only opened it): its bar still measures 20, the masked part is said and drawn
    m1 = re.search(r"m1 : 20 apprenants — ([^;]*)", alt)
    assert m1 and "masqué" in m1.group(1), alt
    drawn = [int(n) for n in re.findall(r"(?:» |masqué )(\d+)", m1.group(1))]
    assert len(drawn) >= 2 and sum(drawn) == 20, m1.group(1)
    assert "hachurée « masqué »" in alt


def test_reports_speak_plainly_and_explain_terms_in_a_method_section_at_the_end(demo):
    _course, out, _results = demo
    for name in REPORTS:
        page = (out / f"{name}.html").read_text(encoding="utf-8")
        text = htmllib.unescape(re.sub(r"<[^>]+>", " ", page))
        method = text.find("Méthode")
        assert method != -1, name
        body, end = text[:method], text[method:]
        for jargon in (
            "statements xAPI",
            "HMAC à clé secrète",
            "carnet de notes nbgrader",
            "statement",
        ):
            assert jargon not in body, (name, jargon)
        assert "xAPI" in end and "HMAC" in end, name  # the technical terms are explained at the end
        assert page.rfind('id="methode"') > page.rfind("<img"), (
            name
        )  # at the end, after every figure
