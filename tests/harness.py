"""Test harness: isolated Jupyter environments and real servers on free ports.

Used through the fixtures of `conftest.py`; importable by any test module
(`tests/` is on pytest's python path).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from incubo.net import free_port  # noqa: F401 - the tests import it from here

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def wait_for(
    condition: Callable[[], object], *, timeout: float = 60, what: str = "condition", proc=None
):
    """Poll `condition` until it returns a truthy value, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} while waiting for {what}")
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - keep polling
            last_exc = exc
        time.sleep(0.2)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last error: {last_exc!r})")


def http_ok(url: str, **kwargs) -> bool:
    try:
        return requests.get(url, timeout=2, **kwargs).status_code < 500
    except requests.RequestException:
        return False


@contextlib.contextmanager
def running(
    cmd: list[str],
    *,
    env: dict | None = None,
    cwd: Path | None = None,
    ready: Callable[[], object],
    timeout: float = 90,
    log: Path | None = None,
) -> Iterator[subprocess.Popen]:
    """Start a server process, wait until `ready()` holds, and always stop it (whole process group)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [str(c) for c in cmd],
        env=env,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        try:
            wait_for(ready, timeout=timeout, what=" ".join(map(str, cmd[:3])), proc=proc)
        except Exception:
            if log:
                out.flush()
                sys.stderr.write(Path(log).read_text(errors="replace")[-4000:])
            raise
        yield proc
    finally:
        stop(proc)
        if log:
            out.close()


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """Stop a process started by `running()` and all its children."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    # the group may outlive its leader (kernels): make sure nothing is left
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


def isolated_env(base: Path) -> dict[str, str]:
    """Environment variables isolating Jupyter and HOME under `base`."""
    env = dict(os.environ)
    for name in ("config", "data", "runtime", "home"):
        (base / name).mkdir(parents=True, exist_ok=True)
    env.update(
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_DATA_DIR=str(base / "data"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        HOME=str(base / "home"),
        JUPYTER_PLATFORM_DIRS="1",
        INCUBO_EVENTS_FILE=str(base / "home" / "incubo-evenements.jsonl"),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
    )
    for name in (
        "INCUBO_COURSE_DIR",
        "INCUBO_LRS_URL",
        "INCUBO_LRS_AUTH",
        "JUPYTERHUB_USER",
        "JUPYTER_TOKEN",
    ):
        env.pop(name, None)
    return env


def incubo(
    *args, env: dict | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the real `incubo` command line, capturing text output."""
    return subprocess.run(
        [str(BIN / "incubo"), *map(str, args)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_french_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """A user error: non-zero exit, no traceback, a French sentence mentioning `fragments`."""
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "Erreur" in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, (fragment, result.stderr)


def axe_violations(page, *, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (from node_modules, no CDN) in a Playwright page; return serious/critical violations."""
    axe = ROOT / "node_modules" / "axe-core" / "axe.min.js"
    page.add_script_tag(path=str(axe))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in impacts]


def require_root(unverified: str) -> None:
    """Tests that create real Unix accounts: not being root fails them (never a silent skip).

    `unverified`: what then goes unchecked, as the French sentence's subject."""
    if os.geteuid() != 0:
        pytest.fail(
            f"{unverified} : ce test crée de vrais comptes Unix, lancez-le en root (comme le fait .ci/run)."
        )
