"""What `make run` starts: `incubo build` then `incubo lab`, a French JupyterLab on the built course."""

from __future__ import annotations

import pytest
import requests
from harness import BIN, ROOT, free_port, http_ok, incubo, running

TOKEN = "jeton-de-test"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real JupyterLab started exactly as `make run` does, on a course built from courses/."""
    from harness import isolated_env

    base = tmp_path_factory.mktemp("lab")
    env = isolated_env(base / "env")
    env["JUPYTER_TOKEN"] = TOKEN
    course_dir = base / "cours"
    built = incubo("build", "--courses", ROOT / "courses", "--course-dir", course_dir, env=env, cwd=base)
    assert built.returncode == 0, built.stderr
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [BIN / "incubo", "lab", "--port", port, "--course-dir", course_dir]
    with running(cmd, env=env, cwd=base, ready=lambda: http_ok(f"{url}/api/status?token={TOKEN}"),
                 log=base / "lab.log", timeout=120):
        yield url, course_dir


def api(url: str, path: str) -> dict:
    response = requests.get(f"{url}{path}", headers={"Authorization": f"token {TOKEN}"}, timeout=20)
    response.raise_for_status()
    return response.json()


def test_built_notebooks_are_served_by_the_contents_api(lab):
    url, course_dir = lab
    release = api(url, "/api/contents/release")
    assignments = [item["name"] for item in release["content"] if item["type"] == "directory"]
    assert assignments, "aucun devoir publié dans release/"
    first = api(url, f"/api/contents/release/{assignments[0]}")
    notebooks = [item["name"] for item in first["content"] if item["type"] == "notebook"]
    assert notebooks, f"aucun notebook dans release/{assignments[0]}"
    expected = {p.name for p in (course_dir / "release" / assignments[0]).glob("*.ipynb")}
    assert set(notebooks) == expected


def effective(url: str, plugin: str, key: str):
    """A setting as JupyterLab applies it: the user's value, else the (overridden) default."""
    data = api(url, f"/lab/api/settings/{plugin}")
    return data["settings"].get(key, data["schema"]["properties"][key].get("default"))


def test_interface_is_french_without_news(lab):
    url, _ = lab
    assert effective(url, "@jupyterlab/translation-extension:plugin", "locale") == "fr_FR"
    assert "fr_FR" in api(url, "/lab/api/translations/")["data"]
    notification = "@jupyterlab/apputils-extension:notification"
    assert effective(url, notification, "fetchNews") == "false"
    assert effective(url, notification, "checkForUpdates") is False


@pytest.mark.browser
def test_menus_are_french_in_a_browser(lab, page):
    url, _ = lab
    page.goto(f"{url}/lab?token={TOKEN}")
    page.get_by_role("menuitem", name="Fichier").wait_for(timeout=60_000)
    assert page.get_by_role("menuitem", name="Affichage").count() == 1
    assert page.get_by_role("menuitem", name="View").count() == 0
