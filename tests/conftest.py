"""Shared fixtures: isolated Jupyter environments, real servers, a real browser."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, ROOT, incubo, isolated_env

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


@dataclass(frozen=True)
class BuiltCourses:
    """`incubo build` of the whole courses/ folder, once per session: read it, or `copy` it to change it."""

    course: Path
    result: subprocess.CompletedProcess

    def copy(self, dest: Path) -> Path:
        """A private copy of the built course directory (its gradebook and build stamps included)."""
        assert self.result.returncode == 0, (
            f"incubo build refuse courses/ :\n{self.result.stderr[-2000:]}"
        )
        shutil.copytree(self.course, dest, symlinks=True)
        return dest


@pytest.fixture(scope="session")
def built_courses(tmp_path_factory, session_env) -> BuiltCourses:
    """The real courses/ built by the real `incubo build` (≈10 s): shared by every test module that
    only needs a built course, instead of each building it again. Never write into `course`: use
    `copy()` (a test that modifies it, autogrades in it or serves it with a lab)."""
    course = tmp_path_factory.mktemp("courses-built") / "cours"
    result = incubo(
        "build", "--courses", ROOT / "courses", "--course-dir", course, env=session_env, cwd=ROOT
    )
    return BuiltCourses(course, result)


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


@pytest.fixture(scope="session", autouse=True)
def _learner_environments_left_as_found():
    """The learners' Python environments the hub tests build (`incubo.hub.pythonenv.ENVS`, a
    machine-wide cache of real rooms) are removed at the end: the machine is left as found."""
    from incubo.hub.pythonenv import ENVS

    before = set(ENVS.iterdir()) if ENVS.is_dir() else set()
    parent_existed = ENVS.parent.exists()
    yield
    if ENVS.is_dir():
        for made in set(ENVS.iterdir()) - before:
            try:  # only this session's: another checkout's tests may be running a hub on theirs
                ours = (made / "source").read_text(encoding="utf-8") == sys.prefix
            except OSError:
                ours = False
            if ours:
                shutil.rmtree(made, ignore_errors=True)
    if not parent_existed:
        shutil.rmtree(ENVS.parent, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _kernel_sockets_parent_left_as_found():
    """The machine-wide parent of the learners' kernel sockets folders, made by the first hub
    test's learner, is removed at the end when this session made it and nothing is left in it."""
    from incubo.hub.accounts import KERNEL_SOCKETS

    existed = KERNEL_SOCKETS.exists()
    yield
    if not existed:
        with contextlib.suppress(OSError):  # not empty: another checkout's room is using it
            KERNEL_SOCKETS.rmdir()
