"""Shared fixtures: isolated Jupyter environments, real servers, a real browser."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, ROOT, isolated_env

# Never let the machine's Jupyter setup or a developer's course leak into tests.
os.environ.pop("INCUBO_COURSE_DIR", None)


@pytest.fixture
def jupyter_env(tmp_path: Path) -> dict[str, str]:
    """Environment for subprocesses: temporary Jupyter config/data/runtime dirs and HOME."""
    return isolated_env(tmp_path / "env")


@pytest.fixture(scope="session")
def session_env(tmp_path_factory) -> dict[str, str]:
    return isolated_env(tmp_path_factory.mktemp("session-env"))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser).

    Module-scoped on purpose: Playwright's sync API keeps an asyncio loop
    running in the main thread while it is open, and nbclient/nbgrader
    (`asyncio.run`) fail in any later test while that loop is alive.
    """
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium manquant : installez-le avec « apt-get install -y chromium » (fait par .ci/run)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR")
    p = context.new_page()
    p.set_default_timeout(30_000)
    try:
        yield p
    finally:
        context.close()
