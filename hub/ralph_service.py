"""Ralph's LRS API as a JupyterHub-managed service (file backend), run with Ralph's own Python.

The hub starts it (`c.JupyterHub.services`, see `incubo.hub.services`) with
`.venv-ralph/bin/python <this file> --port P`; it imports nothing from
incubo, since Ralph lives in its own virtualenv. Before serving it writes
Ralph's auth file with one account, the gate's (`passerelle`, password read
from `--password-file`), so only the LRS gate can talk to Ralph. Like
`deploy/ralph/run_ralph.py`, it runs the file backend in *append* mode: in
ralph-malph 5.1 its default `create` mode refuses every write after the first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

log = logging.getLogger("incubo.hub.ralph")

GATE_ACCOUNT = "passerelle"


def write_auth_file(path: Path, password: str, homepage: str) -> None:
    """Ralph's `auth.json` with the gate's account only (bcrypt, as `ralph auth` writes it)."""
    import bcrypt

    entry = {
        "username": GATE_ACCOUNT,
        "hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode(),
        "scopes": ["all"],
        "agent": {"objectType": "Agent", "account": {"name": GATE_ACCOUNT, "homePage": homepage}},
    }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump([entry], fh)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="LRS Ralph de la salle, lancé par JupyterHub.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True, help="dossier lrs/ du hub")
    parser.add_argument("--homepage", default="http://localhost")
    args = parser.parse_args(argv)

    app_dir = args.dir / "ralph"
    data_dir = args.dir / "donnees"
    for folder in (app_dir, data_dir):
        folder.mkdir(parents=True, exist_ok=True)
    auth_file = app_dir / "auth.json"
    password = (args.dir / "mot-de-passe-ralph").read_text().strip()
    write_auth_file(auth_file, password, args.homepage)
    os.environ.update(
        RALPH_APP_DIR=str(app_dir),
        RALPH_AUTH_FILE=str(auth_file),
        RALPH_RUNSERVER_BACKEND=os.environ.get("RALPH_RUNSERVER_BACKEND", "fs"),
        RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(data_dir),
    )
    os.environ.setdefault("RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT", "1000")
    (args.dir / "ralph.pid").write_text(str(os.getpid()))

    # Imported after the environment is set: Ralph reads its settings at import time.
    import uvicorn
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND
    from ralph.api import app

    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
