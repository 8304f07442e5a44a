"""`incubo report seance -p seance CODE`: a séance's summary from demo data, from a real LRS, errors.

The demo data (`incubo demo-data`) holds three séances (definitions in `<course>/seances/`,
statements in `evenements/seances-demo.jsonl`): a room of 24, another, and a
catch-up group of four. The reports run once per module; each test reads them.
The numbers are checked against an independent count over the raw statements.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from harness import assert_french_error, incubo, isolated_env
from test_lrs import PASSWORD, RALPH_BIN, USER, Ralph
from test_report import tables, visible_text

from incubo import seance as core
from incubo import xapi
from incubo.reports import demo as demo_data

K = 5


def run(course, out, env, code, *extra):
    return incubo(
        "report", "seance", "--demo", "-p", "seance", code, "--course-dir", course, "-o", out,
        *extra, env=env, timeout=300,
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Demo data, the small séance moved to the hub's store, the big and the small reports run."""
    root = tmp_path_factory.mktemp("seance-report")
    env = isolated_env(root / "env")
    for name in ("INCUBO_PSEUDONYM_KEY", "INCUBO_PSEUDONYM_KEY_FILE", "INCUBO_ANALYSES_DIR"):
        env.pop(name, None)
    hub = root / "hub"
    hub.mkdir()
    env["INCUBO_HUB_DIR"] = str(hub)
    course = root / "cours"
    with ThreadPoolExecutor(3) as pool:
        # `incubo demo-data` names its séances and how to report on one: checked on a few learners
        # beside the rest (most of its time goes to the gradebook, which no séance report reads)
        few = root / "quelques-apprenants"
        cli = pool.submit(
            incubo, "demo-data", "--learners", "5", "--seed", "5", "--course-dir", few, env=env
        )
        # the reports' data: the same generator, 60 learners for a real room, no gradebook
        demo_data.generate(course, learners=60, seed=5, gradebook=False)
        codes = json.loads((course / ".incubo-demo.json").read_text(encoding="utf-8"))["seances"]
        assert len(codes) == 3
        big, small = codes[0], codes[2]
        # the small séance is known only to the hub's store, as after a real séance
        core.save(hub, core.read_file(course / "seances" / f"{small}.json"))
        (course / "seances" / f"{small}.json").unlink()
        out = root / "rapports"
        reports = {c: pool.submit(run, course, out / c, env, c) for c in (big, small)}
        results = {c: r.result() for c, r in reports.items()}
        made = cli.result()
    assert made.returncode == 0, made.stderr
    listed = json.loads((few / ".incubo-demo.json").read_text(encoding="utf-8"))["seances"]
    assert len(listed) == 3 and all(c in made.stderr for c in listed)
    assert f"incubo report seance --demo -p seance {listed[0]}" in made.stderr
    pages = {
        c: (out / c / "seance.html").read_text(encoding="utf-8")
        for c in results
        if (out / c / "seance.html").exists()
    }
    return course, hub, env, out, codes, results, pages


def statements_of(course, registration: str) -> list[dict]:
    found = []
    for path in (course / "evenements").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            s = json.loads(line)
            if (s.get("context") or {}).get("registration") == registration:
                found.append(s)
    return found


def facts(course, hub, code: str) -> dict:
    """Participants, steps opened, poll answers: counted here, without the report's code."""
    path = course / "seances" / f"{code}.json"
    s = core.read_file(path if path.exists() else hub / "seances" / f"{code}.json")
    own = statements_of(course, s.registration)
    people = {xapi.learner_of(x) for x in own}
    opened = defaultdict(set)
    latest: dict[str, dict[str, tuple[str, str]]] = defaultdict(dict)
    for x in own:
        who, verb, tail = xapi.learner_of(x), xapi.verb_of(x), xapi.object_tail(x)
        if verb == "experienced" and tail.startswith("lecon/"):
            opened[tail.split("/", 1)[1]].add(who)
        if verb == "answered":
            poll = tail.rsplit("-", 1)[-1]
            if who not in latest[poll] or x["timestamp"] >= latest[poll][who][0]:
                latest[poll][who] = (x["timestamp"], x["result"]["response"])
    answers = {p: Counter(r for _t, r in by.values()) for p, by in latest.items()}
    return {"seance": s, "people": people, "opened": opened, "answers": answers, "n": len(own)}


def published(text: str, true: int) -> bool:
    """A published cell agrees with the true count: the count itself, or hidden."""
    return text in ("< 5", "supprimé") or int(text.replace("\u202f", "")) == true


def test_the_report_runs_from_demo_data_offline_in_french(demo):
    course, hub, env, out, codes, results, pages = demo
    big = codes[0]
    result = results[big]
    assert result.returncode == 0, result.stderr
    assert "Rapport écrit" in result.stderr
    page = pages[big]
    assert '<html lang="fr">' in page
    assert not re.search(r"<(script|link)\b[^>]*(src|href)=[\"']?(https?:)?//", page, re.I)
    assert "open_data(" not in page and "import " not in visible_text(page)
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) >= 3
    for img in images:
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and len(alt.group(1)) > 40, img[:200]
    text = visible_text(page)
    for words in ("Bilan de séance", big, "Participation", "Progression dans les étapes",
                  "Sondages", "Exercices réussis", "Temps passé", "Méthode", "heure de Paris"):  # fmt: skip
        assert words in text, words
    # when, in the room's local time and in French words (« le jeudi 5 mars 2026, de 9 h 30 à … »)
    assert re.search(
        r"le (lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) \d{1,2}(er)? [a-zéû]+ \d{4}, "
        r"de \d{1,2} h \d{2} à \d{1,2} h \d{2} \(heure de Paris\)",
        text,
    ), text[:600]
    # demo data says so on the first screen, before any table or figure
    banner = page.find("Données de démonstration")
    assert banner != -1 and banner < min(page.find("<table"), page.find("<img"))
    assert not list((out / big).glob(".*-travail")), "work folder left behind"


def test_the_numbers_match_an_independent_count(demo):
    course, hub, env, out, codes, results, pages = demo
    big = codes[0]
    f = facts(course, hub, big)
    s = f["seance"]
    assert len(f["people"]) >= 20  # a real room
    page = pages[big]
    assert f"{len(f['people'])} participants" in visible_text(page)
    t = tables(page)
    for step in s.steps:
        row = t["etapes-ouvertes"][s.step_titles.get(step, step)]
        assert row["Total"] == str(len(f["people"]))
        assert published(row["ont ouvert"], len(f["opened"][step])), (step, row)
    assert any(r["ont ouvert"] not in ("< 5", "supprimé") for r in t["etapes-ouvertes"].values())
    for poll in s.polls:
        rows = t[f"sondage-{poll.id}-reponses"]
        counts = f["answers"].get(poll.id, Counter())
        if poll.kind == "choix-unique":
            assert rows["Total"]["réponses"] == str(sum(counts.values()))
            for i, option in enumerate(poll.options):
                label = f"{chr(65 + i)}. {option}"
                assert published(rows[label]["réponses"], counts.get(str(i), 0)), (label, rows)
                assert rows[label]["bonne réponse"] == ("oui" if i in poll.correct else "")
    # a choice with 1 to 4 answers is never shown as such
    for ident, rows in t.items():
        for label, row in rows.items():
            for column, cell in row.items():
                if column != "bonne réponse" and cell.isdigit():
                    assert cell == "0" or int(cell) >= K, (ident, label, column, cell)


def test_small_groups_are_shown_as_less_than_k(demo):
    course, hub, env, out, codes, results, pages = demo
    small = codes[2]
    assert results[small].returncode == 0, results[small].stderr  # found in the hub's store
    f = facts(course, hub, small)
    assert 0 < len(f["people"]) < K
    page = pages[small]
    text = visible_text(page)
    assert f"moins de {K} participants" in text
    assert "« < 5 »" in text and "< 5" in text
    for ident, rows in tables(page).items():
        for label, row in rows.items():
            for column, cell in row.items():
                if column != "bonne réponse":
                    assert cell in ("0", "< 5", "supprimé", ""), (ident, label, column, cell)
    assert "Temps médian" not in text


def test_no_learner_identity_in_the_reports(demo):
    course, hub, env, out, codes, results, pages = demo
    with open(course / "apprenants.csv", encoding="utf-8") as fh:
        people = list(csv.DictReader(fh))
    written = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in written} == {"seance.html"}
    for path in written:
        page = path.read_text(encoding="utf-8")
        seen = visible_text(page)
        for p in people:
            assert p["courriel"] not in page, (path, p["courriel"])
            assert f"{p['prenom']} {p['nom']}" not in seen, path
            assert not re.search(rf"\b{re.escape(p['identifiant'])}\b", seen), (
                path,
                p["identifiant"],
            )
        assert not re.search(r"\bp-[0-9a-f]{16}\b", seen)  # not even a pseudonym is printed


def test_an_unknown_or_missing_code_is_refused_in_french_before_anything_runs(demo, tmp_path):
    course, hub, env, out, codes, results, pages = demo
    unknown = next(c for c in ("KT7MQA", "HC4X9P", "WXY347") if c not in codes)
    result = run(course, tmp_path / "a", env, unknown)
    assert_french_error(result, "Séance inconnue", unknown, codes[0])
    assert not (tmp_path / "a").exists()
    result = run(course, tmp_path / "b", env, "pas un code!")
    assert_french_error(result, "Valeur invalide pour le paramètre « seance »")
    result = incubo(
        "report", "seance", "--demo", "--course-dir", course, "-o", tmp_path / "c", env=env
    )
    assert_french_error(result, "Précisez la séance", "-p seance CODE")
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()
    # a code typed in lower case, as read aloud, is the same séance
    assert core.check_code(codes[0].lower()) == codes[0]


def test_the_report_reads_a_real_lrs_and_gives_the_same_tables(demo, tmp_path):
    course, hub, env, out, codes, results, pages = demo
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    big = codes[0]
    lrs = Ralph(tmp_path / "ralph", env)
    lrs.start()
    try:
        lines = (course / "evenements" / "seances-demo.jsonl").read_text(encoding="utf-8")
        stmts = [json.loads(line) for line in lines.splitlines()]
        stmts += [
            json.loads(line)
            for line in (course / "evenements" / "demo.jsonl").read_text().splitlines()[:300]
        ]  # other statements, not of the séance: the LRS is asked for the séance's only
        for i in range(0, len(stmts), 250):
            r = requests.post(
                lrs.url + "/xAPI/statements",
                json=stmts[i : i + 250],
                auth=(USER, PASSWORD),
                headers={"X-Experience-API-Version": "1.0.3"},
                timeout=60,
            )
            assert r.status_code == 200, r.text
        alone = tmp_path / "cours"  # the séance's definition, no statement file
        (alone / "seances").mkdir(parents=True)
        shutil.copy(course / "seances" / f"{big}.json", alone / "seances")
        lenv = dict(env, INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}", INCUBO_LRS_PAGE_SIZE="100")
        result = run(alone, tmp_path / "r", lenv, big, "-p", "evenements", lrs.url)
        assert result.returncode == 0, result.stderr
        page = (tmp_path / "r" / "seance.html").read_text(encoding="utf-8")
        assert tables(page) == tables(pages[big])
    finally:
        lrs.stop()


def test_the_cohort_filter_keeps_a_cohorts_seance_statements(demo, tmp_path):
    """Without a learners file, a cohort is found by registration: a séance's statement keeps it aside."""
    from incubo.reports.load import open_data, registration_of

    course = demo[0]
    alone = tmp_path / "cours"
    (alone / "evenements").mkdir(parents=True)
    shutil.copy(course / "evenements" / "seances-demo.jsonl", alone / "evenements")
    ext = xapi.extension("registration-cohorte")
    lines = (alone / "evenements" / "seances-demo.jsonl").read_text(encoding="utf-8").splitlines()
    for cohort in ("2026-printemps", "2026-automne"):
        expected = sum(
            1
            for line in lines
            if json.loads(line)["context"]["extensions"].get(ext) == registration_of(cohort)
        )
        data = open_data(
            str(alone), str(alone / "evenements"), cohorte=cohort, key=b"cle-de-test-" * 3
        )
        assert data.n_statements == expected > 0
