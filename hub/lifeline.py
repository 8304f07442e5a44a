"""Run a hub service so that it dies with the hub: `python -m incubo.hub.lifeline CMD ARGS…`.

JupyterHub starts the room's services (LRS gate, Ralph, dashboard, solutions)
as its children; when `incubo hub` is killed outright (SIGKILL, a crash, the
OOM killer) they would run on, orphaned, holding their ports until the
machine reboots. This launcher asks the kernel for SIGTERM when its parent
dies (`PR_SET_PDEATHSIG`, kept across `exec` and set after any change of
user), checks the parent did not die before that, then becomes the service.
Under systemd the hub's unit does the same for everything it started.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> None:
    if not argv:
        print("Usage : python -m incubo.hub.lifeline COMMANDE [ARGUMENTS…]", file=sys.stderr)
        raise SystemExit(2)
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent or parent == 1:  # the hub died before the prctl: nobody would stop us
        raise SystemExit(0)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
