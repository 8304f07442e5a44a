"""The room's LRS as its readers reach it: the gate's address and the readers' credentials.

Every credential of the room's LRS is an HMAC of a name under one secret kept in
`<hub_dir>/lrs/` (see `incubo.hub.lrs_keys`, which also makes the learners' and the
grader's). The readers' part lives here, in the core, because `incubo report` (a part of
its own) reads the room's LRS on the hub's machine as the `recherche` reader.
"""

from __future__ import annotations

import hmac
import json
from hashlib import sha256
from pathlib import Path

#: Reader accounts: read every statement, write none.
READERS = ("formateurs", "recherche")
SECRET_FILE = "secret-passerelle"
#: The services' ports, chosen once per hub folder (`incubo.hub.services.service_ports`).
PORTS_FILE = "ports.json"


def mac(secret: bytes, label: str, name: str) -> str:
    return hmac.new(secret, f"{label}\0{name}".encode(), sha256).hexdigest()[:40]


def reader_password(secret: bytes, reader: str) -> str:
    return mac(secret, "lecteur", reader)


def reader_auth(secret: bytes, reader: str) -> str:
    """`INCUBO_LRS_AUTH` of a read-only account (`formateurs` or `recherche`)."""
    if reader not in READERS:
        raise ValueError(reader)
    return f"{reader}:{reader_password(secret, reader)}"


def reader_access(hub_dir: Path, reader: str) -> tuple[str, str] | None:
    """The gate's address on this machine and a reader's `user:password`, for a hub whose LRS ran.

    None when `hub_dir` holds no LRS (never created here: reading must not make a hub). Raises
    PermissionError when the folder is closed to the caller (it is the services account's, 0700).
    """
    folder = Path(hub_dir) / "lrs"
    ports = folder / PORTS_FILE
    if not ports.exists() or not (folder / SECRET_FILE).exists():
        return None
    port = int(json.loads(ports.read_text())["lrs"])
    secret = (folder / SECRET_FILE).read_text(encoding="utf-8").strip().encode()
    return f"http://127.0.0.1:{port}/services/lrs/", reader_auth(secret, reader)
