"""The Voila apps in a real Chromium, served by the real `incubo apps` (one server for this module)."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest
from apps_support import FIXTURES, STUCK, make_course_dir, make_courses, make_events, make_journal
from harness import BIN, free_port, http_ok, isolated_env, running, wait_for

pytestmark = pytest.mark.browser

APPS = ["explorateur", "quiz-du-jour", "tableau-de-bord", "mon-parcours", "revision-du-jour"]
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("apps")
    env = isolated_env(base / "env")
    course = make_course_dir(base)
    make_events(course / "evenements")
    make_journal(__import__("pathlib").Path(env["INCUBO_EVENTS_FILE"]))
    env["INCUBO_COURSES_DIR"] = str(make_courses(base))
    env["JUPYTERHUB_USER"] = "apprenant-test"
    env["INCUBO_DASHBOARD_REFRESH"] = "2"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [BIN / "incubo", "apps", "--port", port, "--pool", "1", "--course-dir", course]
    with running(
        cmd, env=env, ready=lambda: http_ok(url + "/"), timeout=120, log=base / "voila.log"
    ) as proc:
        yield {
            "url": url,
            "proc": proc,
            "home": base / "env" / "home",
            "log": base / "voila.log",
            "course": course,
        }


def open_app(page, server, name):
    page.goto(f"{server['url']}/voila/render/{name}.ipynb", timeout=TIMEOUT)
    page.wait_for_selector(".incubo-app", timeout=TIMEOUT)
    return page


def plain(text: str) -> str:
    """Page text with every kind of space made an ordinary space (numbers use narrow no-break spaces)."""
    return re.sub(r"[\u00a0\u202f]", " ", unicodedata.normalize("NFC", text))


def assert_no_code_or_traceback(page):
    content = page.content()
    text = page.inner_text("body")
    for fragment in (
        "Traceback",
        "from incubo",
        "import ",
        "main()",
        "Error",
        "Executing",
        "Running ",
    ):
        assert fragment not in text, (fragment, text[:2000])
    assert "from incubo.widgets" not in content  # sources stripped


def upload(page, path):
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=re.compile("Choisir un fichier")).click()
    chooser.value.set_files(str(path))


def status_text(page, pattern: str) -> str:
    locator = page.locator(".incubo-status").filter(has_text=re.compile(pattern))
    locator.first.wait_for(timeout=TIMEOUT)
    return plain(locator.first.inner_text())


# --- every app -----------------------------------------------------------------------------------


def test_home_page_lists_the_apps_in_french(page, server):
    page.goto(server["url"] + "/")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.title() == "Applications incubo"
    for title in (
        "Explorer un tableau",
        "Le quiz du jour",
        "Tableau de bord de la salle",
        "Mon parcours",
        "Ma révision du jour",
    ):
        assert page.get_by_role("link", name=title).count() == 1
    page.goto(server["url"] + "/voila/render/inexistant.ipynb")
    assert "n'existe pas" in page.inner_text("body")


@pytest.mark.parametrize("name", APPS)
def test_app_loads_accessible_without_code(page, server, name):
    from harness import axe_violations

    open_app(page, server, name)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("h1").count() >= 1
    assert_no_code_or_traceback(page)
    violations = axe_violations(page)
    assert not violations, [
        (v["id"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations
    ]


# --- explorer ------------------------------------------------------------------------------------


def _group_and_download(page, tmp_path, fmt: str):
    page.get_by_label("Regrouper par").select_option("Service")
    page.get_by_label("Calcul", exact=True).select_option(label="Faire la somme")
    page.get_by_label("Colonne à calculer").select_option("Budget (€)")
    page.get_by_role("button", name="Calculer").click()
    status_text(page, "Calcul terminé")
    page.get_by_role("button", name="Tracer le graphique").click()
    img = page.locator("img[alt^='Graphique en barres']")
    img.wait_for(timeout=TIMEOUT)
    link = page.get_by_role(
        "link", name="Télécharger en CSV" if fmt == "csv" else "Télécharger en Excel (.xlsx)"
    )
    with page.expect_download() as download:
        link.click()
    target = tmp_path / f"resultat.{fmt}"
    download.value.save_as(target)
    return plain(img.get_attribute("alt")), target


def test_explorer_whole_flow_with_french_csv(page, server, tmp_path):
    open_app(page, server, "explorateur")
    upload(page, FIXTURES / "services.csv")
    summary = status_text(page, "Fichier lu")
    assert (
        "6 lignes et 5 colonnes" in summary
        and "Windows-1252" in summary
        and "point-virgule" in summary
    )
    assert "1 ligne de titre ignorée" in summary
    assert "1 234" in plain(page.inner_text("table"))  # preview, French number formatting

    page.get_by_label("Colonne à filtrer").select_option("Département")
    page.get_by_label("Valeur").fill("31")
    page.get_by_role("button", name="Appliquer le filtre").click()
    assert "3 ligne(s) sur 6" in status_text(page, "Filtre :")

    alt, target = _group_and_download(page, tmp_path, "csv")
    assert "Préfecture : 1 234,5" in alt and "DDT : 98 765,25" in alt and "DREAL : 250 000" in alt
    text = target.read_bytes().decode("utf-8-sig")
    assert text.splitlines()[0] == "Service;Somme de Budget (€)"
    assert "Préfecture;1234,5" in text and "DDT;98765,25" in text and "DDETS" not in text

    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger en Excel (.xlsx)").click()
    xlsx = tmp_path / "r.xlsx"
    download.value.save_as(xlsx)
    import openpyxl

    rows = list(openpyxl.load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[0] == ("Service", "Somme de Budget (€)") and ("Préfecture", 1234.5) in rows

    from harness import axe_violations

    assert not axe_violations(page)  # with tables, chart and links on the page


def test_explorer_whole_flow_with_xlsx(page, server, tmp_path):
    from datetime import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Budgets 2024"])
    ws.append([])
    ws.append(["Service", "Département", "Effectif", "Budget (€)", "Date de mise à jour"])
    ws.append(["DDT", "31", 210, 98765.25, datetime(2024, 6, 15)])
    ws.append(["DDT", "09", 85, "12 000,75", datetime(2024, 2, 1)])
    ws.append(["Préfecture", "31", 1234, 1234.5, datetime(2024, 12, 31)])
    source = tmp_path / "budgets.xlsx"
    wb.save(source)

    open_app(page, server, "explorateur")
    upload(page, source)
    summary = status_text(page, "Fichier lu")
    assert "3 lignes et 5 colonnes" in summary and "classeur Excel" in summary
    page.get_by_label("Colonne à filtrer").select_option("Date de mise à jour")
    page.get_by_label("Condition").select_option(label="est supérieur à")
    page.get_by_label("Valeur").fill("01/03/2024")
    page.get_by_role("button", name="Appliquer le filtre").click()
    assert "2 ligne(s) sur 3" in status_text(page, "Filtre :")
    alt, target = _group_and_download(page, tmp_path, "xlsx")
    assert "DDT : 98 765,25" in alt
    rows = list(openpyxl.load_workbook(target).active.iter_rows(values_only=True))
    assert rows == [("Service", "Somme de Budget (€)"), ("DDT", 98765.25), ("Préfecture", 1234.5)]


@pytest.mark.parametrize(
    "fixture, expected",
    [
        ("image.csv", "une image"),
        ("vide.csv", "vide"),
        ("protege.xlsx", "protégé par un mot de passe"),
    ],
)
def test_explorer_unreadable_files_get_a_french_sentence(page, server, fixture, expected):
    open_app(page, server, "explorateur")
    upload(page, FIXTURES / fixture)
    message = page.locator(".incubo-status [role=alert]")
    message.wait_for(timeout=TIMEOUT)
    assert expected in message.inner_text()
    assert_no_code_or_traceback(page)


# --- quiz of the day -----------------------------------------------------------------------------


def test_quiz_of_the_day_answered_with_the_keyboard_alone(page, server):
    open_app(page, server, "quiz-du-jour")
    page.get_by_text("Quelle touche exécute une cellule ?").wait_for(timeout=TIMEOUT)
    # Tab until a radio button has the focus, then arrows and Enter only.
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.type === 'radio'"):
            break
    else:
        pytest.fail("no radio button reachable with Tab")
    page.keyboard.press("Space")  # first option
    page.keyboard.press("ArrowDown")  # « Maj + Entrée »
    assert (
        page.evaluate("document.activeElement.closest('label').innerText").strip() == "Maj + Entrée"
    )
    page.locator(".incubo-choix").filter(has_text="Réponse choisie : Maj + Entrée").wait_for(
        timeout=TIMEOUT
    )
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.tagName === 'BUTTON'"):
            break
    assert page.evaluate("document.activeElement.innerText").strip() == "Valider"
    page.keyboard.press("Enter")
    explanation = page.locator(".incubo-app").filter(
        has_text="Explication : Maj + Entrée exécute la cellule"
    )
    try:
        explanation.wait_for(timeout=TIMEOUT)
    except Exception:
        pytest.fail(page.inner_text("body") + server["log"].read_text()[-3000:])
    streak = page.locator(".incubo-serie")
    wait_for(lambda: "1 jour" in streak.inner_text(), timeout=30, what="streak shown")
    journal = (server["home"] / "incubo-evenements.jsonl").read_text(encoding="utf-8")
    assert "q-cellule" in journal and "answered" in journal  # recorded like any quiz
    assert any((server["home"] / ".incubo").glob("quiz-du-jour*.json"))  # streak stored in the home


# --- trainer dashboard ---------------------------------------------------------------------------


def test_dashboard_shows_the_stuck_learner(page, server):
    open_app(page, server, "tableau-de-bord")
    stuck = page.locator(".incubo-bloque")
    stuck.first.wait_for(timeout=TIMEOUT)
    text = plain(page.inner_text("body"))
    assert STUCK in plain(stuck.first.inner_text())
    assert "dominique" not in plain(stuck.first.inner_text())
    assert "ex-addition" in text and "Les bases" in text
    assert "Rafraîchir" in text

    # Someone else gets stuck: the page shows it by itself, without a click or a reload.
    import json

    from apps_support import _stmt

    events = server["course"] / "evenements" / "eloise.jsonl"
    lines = [
        _stmt(
            "attempted",
            "eloise",
            "pt-02-tableaux",
            "ex-filtrer",
            0.5,
            result={"success": False},
            extensions={"verdict": "erreur"},
        ),
        _stmt(
            "asked", "eloise", "pt-02-tableaux", "ex-filtrer", 0.4, extensions={"hint-number": 1}
        ),
        _stmt(
            "asked", "eloise", "pt-02-tableaux", "ex-filtrer", 0.3, extensions={"hint-number": 2}
        ),
    ]
    events.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    page.locator(".incubo-bloque").filter(has_text="eloise").wait_for(timeout=TIMEOUT)


# --- my progress ---------------------------------------------------------------------------------


def test_my_progress_shows_next_step(page, server):
    open_app(page, server, "mon-parcours")
    text = plain(page.inner_text("body"))
    assert "Prochaine étape" in text
    assert "ex-texte" in text  # the next exercise not yet passed
    assert "1 exercice réussi sur 4" in text


# --- buttons are never cut off ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["explorateur", "tableau-de-bord"])
def test_buttons_show_their_whole_label(page, server, name):
    page.set_viewport_size({"width": 400, "height": 900})
    open_app(page, server, name)
    cut = page.evaluate(
        """() => [...document.querySelectorAll('button')]
             .filter(b => b.offsetParent !== null && b.scrollWidth > b.clientWidth + 1)
             .map(b => b.innerText)"""
    )
    assert cut == [], f"boutons coupés : {cut}"


def test_the_apps_kernels_talk_over_unix_sockets(server):
    """No free-port race at a kernel's start: over TCP, a pre-heated kernel that lost it died with
    « Address already in use » and its app's page never finished loading (seen in CI)."""
    import json

    import psutil

    voila = psutil.Process(server["proc"].pid)
    files = []
    for proc in voila.children(recursive=True):
        try:
            cmd = proc.cmdline()
        except psutil.Error:  # a short-lived helper that ended meanwhile
            continue
        if "ipykernel_launcher" in " ".join(cmd):
            files.append(Path(cmd[cmd.index("-f") + 1]))
    assert files, "aucun noyau préchauffé"
    for connection in files:
        assert json.loads(connection.read_text())["transport"] == "ipc", connection
    assert "Address already in use" not in server["log"].read_text()
