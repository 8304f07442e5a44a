"""What `make run` starts: `incubo build` then `incubo lab`, a French JupyterLab on the learner's own workspace.

The learner never sees the course directory: the lab's root (contents API)
holds the « Commencez ici » page and their copies of the released parcours,
nothing of source/, the gradebook, nbgrader's configuration, solutions or
hidden tests; saving a notebook leaves release/ as it was; instructor tools
are off; `incubo build` repairs a release someone saved over.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from pathlib import Path

import nbformat
import pytest
import requests
from harness import BIN, ROOT, assert_french_error, free_port, http_ok, incubo, running
from playwright.sync_api import TimeoutError as PlaywrightTimeout

TOKEN = "jeton-de-test"
HOME_PAGE = "Commencez ici.ipynb"
PARCOURS_ORDER = ["Premiers pas", "Python pas à pas", "Du tableur à pandas", "Données et démarches"]
#: the notebook on screen (JupyterLab keeps the others open in hidden tabs)
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
INSTRUCTOR_PLUGINS = [
    "@jupyter/nbgrader:create-assignment",
    "@jupyter/nbgrader:validate-assignment",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:menu",
    "jupyterlab-jupytext:plugin",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, built_courses):
    """A real JupyterLab started exactly as `make run` does, on a course built from courses/."""
    from harness import isolated_env

    base = tmp_path_factory.mktemp("lab")
    env = isolated_env(base / "env")
    env["JUPYTER_TOKEN"] = TOKEN
    # a copy of the session's build of courses/ (tests/conftest.py): learners save into it, and
    # the last test rebuilds part of it
    course_dir = built_courses.copy(base / "cours")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [BIN / "incubo", "lab", "--port", port, "--course-dir", course_dir]
    with running(
        cmd,
        env=env,
        cwd=base,
        ready=lambda: http_ok(f"{url}/api/status?token={TOKEN}"),
        log=base / "lab.log",
        timeout=120,
    ):
        yield {
            "url": url,
            "port": port,
            "course": course_dir,
            "env": env,
            "base": base,
            "workspace": Path(env["HOME"]) / "espace-incubo",
        }


def api(url: str, path: str, **params) -> dict:
    response = requests.get(
        f"{url}/api/contents/{path}",
        params=params,
        headers={"Authorization": f"token {TOKEN}"},
        timeout=20,
    )
    response.raise_for_status()
    return response.json()


def walk(url: str, path: str = "") -> list[dict]:
    """Every file the learner's JupyterLab can open, through the contents API."""
    out = []
    for item in api(url, path)["content"]:
        if item["type"] == "directory":
            out += walk(url, item["path"])
        else:
            out.append(item)
    return out


def _release_digests(course: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(course)): p.read_bytes()
        for p in sorted((course / "release").rglob("*"))
        if p.is_file()
    }


def _secret_lines(course: Path) -> set[str]:
    """Solution and hidden-test lines of the course (from source/), long enough to mean something."""
    lines: set[str] = set()
    for sidecar in (course / "source").glob("*/incubo_exercices.json"):
        for ex in json.loads(sidecar.read_text("utf-8"))["exercices"].values():
            if ex.get("solution"):
                lines.update(
                    zlib.decompress(base64.b64decode(ex["solution"])).decode().splitlines()
                )
    for nb_path in (course / "source").glob("*/*.ipynb"):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            for block in re.findall(
                r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", cell.source, re.S
            ):
                lines.update(block.splitlines())
    return {
        " ".join(x.split())
        for x in lines
        if len("".join(x.split())) >= 12 and "BEGIN" not in x and "END" not in x
    }


def test_lab_root_holds_the_home_page_and_the_learners_copies_only(lab):
    url, course = lab["url"], lab["course"]
    root = {item["name"] for item in api(url, "")["content"]}
    parcours = {p.parent.name for p in (ROOT / "courses").glob("*/parcours.yml")}
    assert root == {HOME_PAGE, *parcours}, root
    files = walk(url)
    names = {part for item in files for part in item["path"].split("/")}
    for forbidden in (
        "source",
        "release",
        "gradebook.db",
        "nbgrader_config.py",
        "autograded",
        "submitted",
    ):
        assert forbidden not in names, f"« {forbidden} » visible par l'apprenant"
    released = {p.name for p in (course / "release").glob("*/*.ipynb")}
    assert released <= {item["name"] for item in files}, (
        "des notebooks publiés manquent dans l'espace"
    )
    secrets = _secret_lines(course)
    assert len(secrets) > 50
    for item in files:
        content = api(
            url, item["path"], content=1, format="text" if item["type"] == "file" else None
        )["content"]
        text = json.dumps(content, ensure_ascii=False) if not isinstance(content, str) else content
        if item["type"] == "notebook":
            text = "\n".join(c["source"] for c in content["cells"])
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, item["path"]
        if item["name"] == "incubo_exercices.json":
            assert all("solution" not in ex for ex in json.loads(text)["exercices"].values()), item[
                "path"
            ]
        flat = " ".join(text.split())
        leaked = [line for line in secrets if line in flat]
        assert not leaked, f"{item['path']} contient {leaked[:3]}"


def test_saving_a_notebook_leaves_the_release_unchanged(lab):
    url, course = lab["url"], lab["course"]
    before = _release_digests(course)
    path = "premiers-pas/pp-01-decouvrir/02-exercices.ipynb"
    model = api(url, path, content=1)
    answer = next(
        c
        for c in model["content"]["cells"]
        if c["cell_type"] == "code" and "raise NotImplementedError" in c["source"]
    )
    answer["source"] = "total = 12 + 30"
    response = requests.put(
        f"{url}/api/contents/{path}",
        json={"type": "notebook", "format": "json", "content": model["content"]},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=20,
    )
    response.raise_for_status()
    assert "total = 12 + 30" in (lab["workspace"] / path).read_text("utf-8")
    assert _release_digests(course) == before, "l'enregistrement a modifié release/"


def test_home_page_lists_the_parcours_in_order_with_links(lab):
    url = lab["url"]
    home = api(url, HOME_PAGE, content=1)["content"]
    code = [c for c in home["cells"] if c["cell_type"] == "code"]
    assert not code, "la page d'accueil ne doit pas contenir de code"
    text = "\n".join(c["source"] for c in home["cells"])
    assert text.startswith("# Commencez ici")
    positions = [text.index(f"## {title}") for title in PARCOURS_ORDER]
    assert positions == sorted(positions), "les parcours ne sont pas dans l'ordre"
    assert "Découvrir Jupyter" in text and "pp-01-decouvrir" not in re.sub(r"\(.*?\)", "", text), (
        "les modules doivent apparaître par leur titre, pas par leur code"
    )
    assert re.search(r"— \d+ min", text)
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", text)
    assert len(links) >= 30
    for link in links:
        api(url, link.replace("%20", " "))  # raises when the link is broken


def test_each_lesson_ends_with_a_link_to_the_next_and_starts_with_its_title(lab):
    workspace = lab["workspace"]
    for nb_path in sorted(workspace.glob("*/*/*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.lstrip().startswith(
            "# "
        ), f"{nb_path.name} : une cellule de code avant le titre"
        last = nb.cells[-1]
        assert last.cell_type == "markdown", nb_path
        target = re.search(r"\]\(([^)]+)\)", last.source)
        if target is None:
            assert "Fin du parcours" in last.source, nb_path
        else:
            assert (nb_path.parent / target.group(1).replace("%20", " ")).is_file(), (
                nb_path,
                target.group(1),
            )


def test_learners_do_not_get_instructor_tools(lab):
    url = lab["url"]
    page = requests.get(f"{url}/lab", headers={"Authorization": f"token {TOKEN}"}, timeout=20).text
    config = json.loads(
        re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1)
    )
    disabled = config.get("disabledExtensions") or []
    assert set(INSTRUCTOR_PLUGINS) <= set(disabled), disabled
    formgrader = requests.get(
        f"{url}/formgrader", headers={"Authorization": f"token {TOKEN}"}, timeout=20
    )
    assert formgrader.status_code == 404


def test_busy_port_gets_a_french_sentence(lab):
    result = incubo(
        "lab",
        "--port",
        lab["port"],
        "--course-dir",
        lab["course"],
        env=lab["env"],
        cwd=lab["base"],
        timeout=120,
    )
    assert_french_error(result, str(lab["port"]), "--port")


def effective(url: str, plugin: str, key: str):
    """A setting as JupyterLab applies it: the user's value, else the (overridden) default."""
    response = requests.get(
        f"{url}/lab/api/settings/{plugin}", headers={"Authorization": f"token {TOKEN}"}, timeout=20
    )
    data = response.json()
    return data["settings"].get(key, data["schema"]["properties"][key].get("default"))


def test_interface_is_french_without_news(lab):
    url = lab["url"]
    assert effective(url, "@jupyterlab/translation-extension:plugin", "locale") == "fr_FR"
    translations = requests.get(
        f"{url}/lab/api/translations/", headers={"Authorization": f"token {TOKEN}"}, timeout=20
    )
    assert "fr_FR" in translations.json()["data"]
    notification = "@jupyterlab/apputils-extension:notification"
    assert effective(url, notification, "fetchNews") == "false"
    assert effective(url, notification, "checkForUpdates") is False


@pytest.mark.browser
def test_first_screen_is_the_french_home_page_without_instructor_tools(lab, page):
    url = lab["url"]
    page.goto(f"{url}/?token={TOKEN}")
    page.get_by_role("heading", name="Commencez ici").first.wait_for(timeout=90_000)
    page.get_by_role("menuitem", name="Fichier").wait_for(timeout=30_000)
    assert page.get_by_role("menuitem", name="Affichage").count() == 1
    assert page.get_by_role("menuitem", name="View").count() == 0
    assert page.get_by_role("menuitem", name="Nbgrader").count() == 0
    assert page.get_by_role("heading", name="Premiers pas — 25 min").count() == 1
    page.get_by_role("link", name="Exercices : un calcul, une variable").first.click()
    page.locator(f"{PANEL} .jp-Cell").first.wait_for(timeout=60_000)
    body = page.locator("body").inner_text()
    for english in ("Validate", "Create Assignment", "Formgrader", "Jupytext"):
        assert english not in body, f"« {english} » visible par l'apprenant"
    # opening is not modifying: once its kernel is connected and idle (the status bar's kernel item
    # says « Inactif »; the toolbar's indicator says « idle » before any kernel), still « saved »
    kernel = page.locator("#jp-main-statusbar [title^='Changer de noyau pour']")
    kernel.filter(has_text="| Inactif").wait_for(timeout=90_000)
    # JupyterLab writes the kernel's language into the notebook when its kernel_info reply comes,
    # before the kernel's « idle » that the status bar shows; the tabs render that change at the
    # next animation frames: wait for two, then read them
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    dirty = page.locator(".lm-TabBar-tab.jp-mod-dirty").all_inner_texts()
    assert not dirty, f"notebooks marqués modifiés dès l'ouverture : {dirty}"
    # file names are not cut in the side panel
    cut = page.evaluate(
        "() => [...document.querySelectorAll('.jp-DirListing-itemText')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"
    )
    assert not cut, f"noms de fichiers coupés : {cut}"


def _put_notebook(url: str, path: str, nb: dict) -> None:
    response = requests.put(
        f"{url}/api/contents/{path}",
        json={"type": "notebook", "format": "json", "content": nb},
        headers={"Authorization": f"token {TOKEN}"},
        timeout=20,
    )
    response.raise_for_status()


def _cell(page, text: str):
    return page.locator(
        f"{PANEL} .jp-Cell", has=page.locator(".jp-InputArea-editor", has_text=text)
    ).first


def _run(page, cell) -> None:
    """Select one cell (its prompt), run it with the toolbar's run button, wait until it has run.

    A click may land while JupyterLab is still settling the kernel (a « select kernel » dialog,
    a session being replaced): then nothing runs. Such a click is tried again, as a user would.
    """
    done = (
        cell.locator(".jp-InputPrompt", has_text=":")
        .filter(has_not_text="[ ]")
        .filter(has_not_text="[*]")
    )
    for attempt in range(4):
        dialog = page.locator(".jp-Dialog .jp-mod-accept")
        if dialog.count():
            dialog.first.click()
        cell.locator(".jp-InputPrompt").click()
        page.locator(
            f"{PANEL} .jp-Toolbar [data-command='notebook:run-cell-and-select-next']"
        ).click()
        try:
            done.wait_for(timeout=30_000 if attempt < 3 else 90_000)
            return
        except PlaywrightTimeout:
            if attempt == 3:
                raise
            if cell.locator(".jp-InputPrompt", has_text="[*]").count():
                done.wait_for(timeout=90_000)  # it is running, only slowly
                return


@pytest.mark.browser
def test_a_failed_check_is_french_only_and_a_right_answer_replaces_it(lab, page):
    """The graded test cell fails: French message, detail folded; `verifier` then passes: no red block left."""
    url = lab["url"]
    folder = "premiers-pas/pp-01-decouvrir"
    nb = api(url, f"{folder}/02-exercices.ipynb", content=1)["content"]
    cells = nb["cells"]
    answer = next(
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and "raise NotImplementedError" in c["source"] and i > 3
    )  # the second exercise (ex-pp-semaine)
    cells[answer]["source"] = "heures_par_jour = 7\nheures_semaine = heures_par_jour + 5"
    cells.append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "essai-bonne-reponse",
            "metadata": {},
            "outputs": [],
            "source": 'heures_semaine = heures_par_jour * 5\nverifier("ex-pp-semaine")',
        }
    )
    _put_notebook(url, f"{folder}/essai-verification.ipynb", nb)
    page.goto(f"{url}/lab/tree/{folder}/essai-verification.ipynb?token={TOKEN}")
    start = _cell(page, 'demarrer("02-exercices")')
    start.wait_for(timeout=90_000)
    # the toolbar's indicator says « idle » before any kernel exists; the status bar's kernel item
    # for this notebook says « Inactif » only once its kernel is connected and idle
    kernel = page.locator(
        "#jp-main-statusbar [title='Changer de noyau pour essai-verification.ipynb']"
    )
    kernel.filter(has_text="| Inactif").wait_for(timeout=90_000)
    _run(page, start)
    _run(page, _cell(page, "heures_par_jour + 5"))
    tests = _cell(page, 'assert "heures_par_jour" in globals()')
    _run(page, tests)
    tests.locator(".incubo-message").wait_for(timeout=60_000)
    shown = tests.locator(".jp-OutputArea").inner_text()
    assert "Pas encore" in shown and "multiplier" in shown, shown
    for english in ("Traceback", "AssertionError", "NotImplementedError", "Error"):
        assert english not in shown, f"« {english} » affiché avant de demander le détail : {shown}"
    assert tests.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    tests.locator("summary").click()
    detail = tests.locator("details pre").inner_text()
    assert "Ligne" in detail and "vérification" in detail, detail
    fix = _cell(page, 'verifier("ex-pp-semaine")')
    _run(page, fix)
    fix.locator(".incubo-message").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => document.querySelectorAll('.incubo-incorrect').length === 0", timeout=30_000
    )
    assert tests.locator(".incubo-correct").count() == 1, tests.locator(
        ".jp-OutputArea"
    ).inner_text()


def test_build_repairs_a_modified_release(lab):
    """Last of the module: it rebuilds the first parcours in the course the lab serves."""
    course, env, base = lab["course"], lab["env"], lab["base"]
    released = course / "release" / "pp-01-decouvrir" / "02-exercices.ipynb"
    original = released.read_bytes()
    released.write_text(
        released.read_text("utf-8").replace("raise NotImplementedError()", "total = 42"), "utf-8"
    )
    args = (
        "build",
        "--courses",
        ROOT / "courses",
        "--course-dir",
        course,
        "--parcours",
        "premiers-pas",
    )
    repaired = incubo(*args, env=env, cwd=base)
    assert repaired.returncode == 0, repaired.stderr
    assert "modifiés" in repaired.stdout + repaired.stderr
    assert released.read_bytes() == original
    again = incubo(*args, env=env, cwd=base)
    assert "Rien à reconstruire" in again.stdout + again.stderr
    forced = incubo(*args, "--force", env=env, cwd=base)
    assert forced.returncode == 0 and "construit" in forced.stdout + forced.stderr
    assert "Rien à reconstruire" not in forced.stdout + forced.stderr
