"""Who is talking to the room's LRS: per-learner and per-reader credentials derived from one secret.

Each learner's kernel gets `INCUBO_LRS_AUTH="<hub user>:<password>"` where the
password is an HMAC of the hub user name under a secret kept in
`<hub_dir>/lrs/` (mode 0700, readable by the hub only). No password list to
keep in sync: the gate recomputes the HMAC to know who is calling, and a
learner cannot derive anyone else's password. Readers (trainers, research)
get a password from the same secret under another label, so a learner whose
hub name happens to be `formateurs` still only gets a learner's rights. So
does the room's grader (`correcteur`, `incubo grade autograde` on the hub):
the one account that may write grading statements about any learner.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from incubo.authority import GRADER
from incubo.secret_files import private_secret

log = logging.getLogger(__name__)

#: Reader accounts: read every statement, write none.
READERS = ("formateurs", "recherche")
SECRET_FILE = "secret-passerelle"


def lrs_dir(hub_dir: Path) -> Path:
    """`<hub_dir>/lrs`: Ralph's data, its auth file and the gate's secret (hub only)."""
    folder = Path(hub_dir) / "lrs"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def gate_secret(hub_dir: Path) -> bytes:
    """The secret every credential derives from (made once per hub)."""
    return private_secret(lrs_dir(hub_dir) / SECRET_FILE).encode()


def ralph_password(hub_dir: Path) -> str:
    """The password of the gate's own account at Ralph (Ralph is never reached with a learner's)."""
    return private_secret(
        lrs_dir(hub_dir) / "mot-de-passe-ralph", lambda: secrets.token_urlsafe(24)
    )


def _mac(secret: bytes, label: str, name: str) -> str:
    return hmac.new(secret, f"{label}\0{name}".encode(), sha256).hexdigest()[:40]


def learner_password(secret: bytes, user: str) -> str:
    return _mac(secret, "apprenant", user)


def reader_password(secret: bytes, reader: str) -> str:
    return _mac(secret, "lecteur", reader)


def grader_password(secret: bytes) -> str:
    return _mac(secret, "correcteur", GRADER)


def grader_auth(secret: bytes) -> str:
    """`user:password` of the room's grader (written for `incubo grade autograde` by the hub)."""
    return f"{GRADER}:{grader_password(secret)}"


def wake_token(secret: bytes) -> str:
    """What the gate shows the dashboard to say « something new was stored »."""
    return _mac(secret, "reveil", "tableau-de-bord")


def learner_auth(secret: bytes, user: str) -> str:
    """`INCUBO_LRS_AUTH` of one learner's kernel."""
    return f"{user}:{learner_password(secret, user)}"


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
    import json

    folder = Path(hub_dir) / "lrs"
    ports = folder / "ports.json"
    if not ports.exists() or not (folder / SECRET_FILE).exists():
        return None
    port = int(json.loads(ports.read_text())["lrs"])
    secret = (folder / SECRET_FILE).read_text(encoding="utf-8").strip().encode()
    return f"http://127.0.0.1:{port}/services/lrs/", reader_auth(secret, reader)


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a learner (their hub user name), a reader, or the grader.

    `reader` means « not a learner »: every service that serves learners only
    refuses it. The grader is a reader that may also write grading statements.
    """

    name: str
    reader: bool = False
    grader: bool = False


def identify(secret: bytes, authorization: str | None) -> Caller | None:
    """The caller of a `Basic` Authorization header, or None when it proves nothing."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = raw.rpartition(":")  # the password (hex) has no colon; a name might
    if not sep or not user:
        return None
    if user == GRADER and hmac.compare_digest(password, grader_password(secret)):
        return Caller(user, reader=True, grader=True)
    if user in READERS and hmac.compare_digest(password, reader_password(secret, user)):
        return Caller(user, reader=True)
    if hmac.compare_digest(password, learner_password(secret, user)):
        return Caller(user)
    return None
