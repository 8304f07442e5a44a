"""Run Ralph's LRS API (file backend) for a session room, without the dev reloader.

Why not `ralph runserver -b fs`: in ralph-malph 5.1 the file backend writes
with the `create` operation, so only the first POST succeeds and every later
one fails with HTTP 500 ("already exists and overwrite is not allowed").
Here the same application runs with the file backend in *append* mode, and
without uvicorn's file-watching reloader (a needless CPU cost in a room).

Run it with the Python of the Ralph virtualenv (`make .venv-ralph`):

    .venv-ralph/bin/python deploy/ralph/run_ralph.py --host 127.0.0.1 --port 8100

Ralph reads its settings from the environment (see `ralph.env.exemple`).
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

log = logging.getLogger("incubo.ralph")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="LRS Ralph (stockage fichier) pour une salle de formation."
    )
    parser.add_argument("--host", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8100, help="port d'écoute (défaut : 8100)")
    args = parser.parse_args(argv)

    os.environ.setdefault("RALPH_RUNSERVER_BACKEND", "fs")
    data_dir = os.environ.get("RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH")
    if data_dir:
        Path(data_dir).mkdir(parents=True, exist_ok=True)

    # Imported after the environment is set: Ralph reads its settings at import time.
    import uvicorn
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    from ralph.api import app

    uvicorn.run(app, host=args.host, port=args.port, log_level="info", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
