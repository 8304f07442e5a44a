"""Stopping stops: SIGTERM or Ctrl+C on `incubo lab` / `incubo apps` leaves none of their processes.

Jupyter starts kernels in sessions of their own and Voila leaves its
pre-started kernels running on SIGTERM: we check the whole process tree
(seen with psutil while the server runs), as systemd or a script would.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import nbformat
import psutil
import pytest
import requests
from harness import BIN, free_port, http_ok, isolated_env, wait_for

TOKEN = "jeton-arret"


def _descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def _kernels(procs: list[psutil.Process]) -> list[psutil.Process]:
    found = []
    for proc in procs:
        try:
            if "ipykernel_launcher" in " ".join(proc.cmdline()):
                found.append(proc)
        except psutil.Error:
            pass
    return found


def _start(cmd: list, env: dict, cwd: Path, log: Path) -> subprocess.Popen:
    out = open(log, "wb")  # noqa: SIM115 - closed by the test
    # a session of its own, as systemd or a terminal would give it; the test signals only this pid
    return subprocess.Popen(
        list(map(str, cmd)),
        env=env,
        cwd=cwd,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop_and_check(proc: subprocess.Popen, signum: int, log: Path) -> None:
    tree = [psutil.Process(proc.pid), *_descendants(proc.pid)]
    assert _kernels(tree), f"aucun noyau démarré : {[p.cmdline() for p in tree]}"
    proc.send_signal(signum)
    try:
        code = proc.wait(30)
    finally:
        left = [p for p in tree if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        for p in left:  # never leave them to the next test
            p.kill()
    assert not left, (
        f"processus restés après le signal {signum}: {[(p.pid, p.name()) for p in left]}\n{log.read_text()[-3000:]}"
    )
    assert code == 0, log.read_text()[-3000:]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "ctrl-c"])
def test_lab_stops_with_its_kernels(tmp_path, signum):
    env = isolated_env(tmp_path / "env")
    env["JUPYTER_TOKEN"] = TOKEN
    course = tmp_path / "cours"
    course.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "lab.log"
    proc = _start(
        [BIN / "incubo", "lab", "--port", port, "--course-dir", course], env, tmp_path, log
    )
    try:
        wait_for(
            lambda: http_ok(f"{url}/api/status?token={TOKEN}"),
            timeout=120,
            what="JupyterLab",
            proc=proc,
        )
        headers = {"Authorization": f"token {TOKEN}"}
        requests.post(
            f"{url}/api/kernels", json={"name": "python3"}, headers=headers, timeout=30
        ).raise_for_status()
        wait_for(lambda: _kernels(_descendants(proc.pid)), timeout=60, what="noyau")
        _stop_and_check(proc, signum, log)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_apps_stop_with_their_prestarted_kernels(tmp_path):
    env = isolated_env(tmp_path / "env")
    apps = tmp_path / "apps"
    apps.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('bonjour')")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, apps / "essai.ipynb")
    port = free_port()
    log = tmp_path / "apps.log"
    cmd = [
        BIN / "incubo",
        "apps",
        "--port",
        port,
        "--pool",
        1,
        "--apps",
        apps,
        "--course-dir",
        tmp_path,
    ]
    proc = _start(cmd, env, tmp_path, log)
    try:
        wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/"), timeout=120, what="Voila", proc=proc)
        wait_for(lambda: _kernels(_descendants(proc.pid)), timeout=90, what="noyau préchauffé")
        _stop_and_check(proc, signal.SIGTERM, log)
    finally:
        if proc.poll() is None:
            proc.kill()
