"""« Mes données » in a learner's server: the notice, and their own statements to download (real Ralph, Chromium)."""

from __future__ import annotations

import io
import uuid

import pandas as pd
import pytest
import requests
from harness import BIN, axe_violations, free_port, http_ok, isolated_env, running
from test_lrs import PASSWORD, RALPH_BIN, USER, Ralph
from test_rgpd import post

from incubo import xapi


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    base = tmp_path_factory.mktemp("mes-donnees")
    env = isolated_env(base / "env")
    lrs = Ralph(base / "ralph", env)
    lrs.start()
    try:
        mine = [
            xapi.statement(
                "attempted",
                parcours="p",
                module="m",
                kind="exercice",
                ident=f"ex-{i}",
                result={"success": i % 2 == 0, "score": xapi.score(1.5, 2)},
                actor_name="agent-moi",
                homepage="http://localhost",
            )
            for i in range(14)
        ]
        theirs = [
            xapi.statement("experienced", parcours="p", actor_name="agent-autre") for _ in range(9)
        ]
        post(lrs, mine + theirs)
        port, token = free_port(), uuid.uuid4().hex
        env.update(
            JUPYTERHUB_USER="agent-moi",
            INCUBO_LRS_URL=lrs.url,  # Ralph itself: the page must still keep only its learner's
            INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}",
            INCUBO_RGPD_CONTACT="dpd@exemple.gouv.fr",
        )
        cmd = [
            BIN / "jupyter",
            "server",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={base}",
            "--ServerApp.jpserver_extensions={'incubo.hub.rgpd_page': True}",
        ]
        url = f"http://127.0.0.1:{port}"
        with running(
            cmd,
            env=env,
            ready=lambda: http_ok(f"{url}/api/status?token={token}"),
            log=base / "server.log",
        ):
            yield url + "/incubo/mes-donnees", token, len(mine)
    finally:
        lrs.stop()


def test_the_learner_downloads_their_own_statements_only(server):
    url, token, count = server
    r = requests.get(url + "/traces.csv", params={"token": token}, timeout=30)
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(r.content), sep=";", decimal=",", encoding="utf-8-sig")
    assert len(frame) == count and set(frame["note"]) == {1.5}
    r = requests.get(url + "/traces.json", params={"token": token}, timeout=30)
    assert {xapi.learner_of(s) for s in r.json()} == {"agent-moi"} and len(r.json()) == count
    anonymous = requests.get(url + "/traces.csv", timeout=30, allow_redirects=False)
    assert anonymous.status_code in (302, 403)  # only the server's owner


def test_the_page_shows_the_notice_and_is_keyboard_and_axe_clean(server, page):
    url, token, count = server
    page.goto(f"{url}?token={token}")
    assert page.locator("h1").inner_text() == "Mes données"
    text = page.locator("main").inner_text()
    assert "Vos données dans incubo" in text and "Version de la notice : 2026-12-1" in text
    assert f"incubo garde {count} traces" in text and "dpd@exemple.gouv.fr" in text
    assert axe_violations(page) == []
    for _ in range(10):
        page.keyboard.press("Tab")
        if "tableur" in page.evaluate("document.activeElement.textContent"):
            break
    else:
        pytest.fail("le lien de téléchargement n'est pas atteignable au clavier")
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == "mes-traces.csv"
