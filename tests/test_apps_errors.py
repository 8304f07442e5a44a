"""An app that crashes: the visitor reads a French sentence, the traceback goes to the server log."""

from __future__ import annotations

import nbformat
import pytest
from harness import BIN, free_port, http_ok, isolated_env, running, wait_for

pytestmark = pytest.mark.browser

SECRET = "detail-technique-a-ne-pas-montrer"


def test_failing_app_shows_french_sentence_and_logs_traceback(page, tmp_path):
    apps = tmp_path / "apps"
    apps.mkdir()
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "title": "Panne",
        }
    )
    nb.cells = [nbformat.v4.new_code_cell(f"raise ValueError('{SECRET}')")]
    nbformat.write(nb, apps / "panne.ipynb")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "voila.log"
    cmd = [BIN / "incubo", "apps", "--apps", apps, "--pool", "0", "--port", port]
    with running(
        cmd, env=isolated_env(tmp_path / "env"), ready=lambda: http_ok(url + "/"), log=log
    ):
        page.goto(f"{url}/voila/render/panne.ipynb")
        page.get_by_text("Cette application a rencontré un problème").wait_for(timeout=60_000)
        text, html = page.inner_text("body"), page.content()
        assert page.title() == "Panne" and page.locator("html").get_attribute("lang") == "fr"
        for leak in (SECRET, "ValueError", "Traceback", "raise ", "show_tracebacks"):
            assert leak not in text and leak not in html, leak
        wait_for(
            lambda: SECRET in log.read_text(errors="replace"),
            timeout=30,
            what="traceback in the log",
        )
