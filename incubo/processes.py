"""Run a server (JupyterLab, Voila) so that stopping `incubo` stops everything it started.

Jupyter starts each kernel in a session of its own, so signalling the server's
process group leaves kernels behind, and Voila does not shut its pre-started
kernels down on SIGTERM at all. `run_tree` starts the server in its own process
group, turns SIGINT / SIGTERM / SIGHUP received by `incubo` into one SIGTERM
for the server, keeps track of every descendant (kernels included) while it
runs, and after a grace period kills whatever of that tree is still alive.
systemd, scripts and Ctrl+C then see one process that stops cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

log = logging.getLogger(__name__)

#: Signals that mean « stop » for a server run from a terminal, a script or systemd.
STOP_SIGNALS = tuple(
    s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None
)
#: How often the tree of descendants is refreshed while the server runs (seconds).
WATCH_INTERVAL = 1.0


class _Tree:
    """The server process and every descendant seen so far (kernels leave the server's group)."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {pid: self.root}

    def refresh(self) -> None:
        with contextlib.suppress(psutil.Error):
            for child in self.root.children(recursive=True):
                self.seen.setdefault(child.pid, child)
        # children of descendants whose parent already died (reparented to init or a subreaper)
        for proc in list(self.seen.values()):
            with contextlib.suppress(psutil.Error):
                for child in proc.children(recursive=True):
                    self.seen.setdefault(child.pid, child)

    def alive(self) -> list[psutil.Process]:
        # psutil.Process compares creation times: a recycled pid is never mistaken for ours
        return [p for p in self.seen.values() if _running(p)]


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_tree(tree: _Tree, popen: subprocess.Popen, grace: float) -> None:
    """SIGTERM to the server, wait up to `grace` seconds for the tree, then SIGKILL what is left."""
    tree.refresh()
    if popen.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    # the server shuts its own kernels down first; give it the time to, while watching new ones
    while popen.poll() is None and time.monotonic() < deadline:
        tree.refresh()
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(0.2)
    tree.refresh()
    left = [p for p in tree.alive() if p.pid != popen.pid or popen.poll() is None]
    for proc in left:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _gone, left = psutil.wait_procs(left, timeout=max(0.5, deadline - time.monotonic()))
    for proc in left:
        log.debug("killing %s (%s) after the grace period", proc.pid, _name(proc))
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(left, timeout=5)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(popen.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        popen.wait(5)


def _name(proc: psutil.Process) -> str:
    try:
        return proc.name()
    except psutil.Error:
        return "?"


def run_tree(
    cmd: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike | None = None,
    grace: float = 6.0,
) -> int:
    """Run `cmd` until it exits or `incubo` is asked to stop; never leave a process of its tree behind.

    Returns the server's exit code, or 0 when it was stopped on request
    (Ctrl+C, SIGTERM, SIGHUP): stopping a server is not a failure.
    """
    requested: list[int] = []

    def on_signal(signum, _frame) -> None:
        requested.append(signum)

    previous = {s: signal.getsignal(s) for s in STOP_SIGNALS}
    for s in STOP_SIGNALS:
        signal.signal(s, on_signal)
    try:
        popen = subprocess.Popen(
            list(map(str, cmd)),
            env=dict(env) if env is not None else None,
            cwd=Path(cwd) if cwd else None,
            start_new_session=True,
        )
        tree = _Tree(popen.pid)
        try:
            while not requested and popen.poll() is None:
                tree.refresh()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    popen.wait(WATCH_INTERVAL)
            if requested:
                log.debug(
                    "signal %s received: stopping %s and its descendants", requested[0], popen.pid
                )
        finally:
            # also after the server exited by itself or our loop failed: no orphan kernel
            stop_tree(tree, popen, grace)
        return 0 if requested else int(popen.returncode or 0)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
