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
from pathlib import Path

from incubo.authority import GRADER
from incubo.room_lrs import (  # noqa: F401 (re-exported: the readers' part is the core's)
    READERS,
    SECRET_FILE,
    reader_access,
    reader_auth,
    reader_password,
)
from incubo.room_lrs import mac as _mac
from incubo.secret_files import private_secret

log = logging.getLogger(__name__)


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


def learner_password(secret: bytes, user: str) -> str:
    return _mac(secret, "apprenant", user)


def grader_password(secret: bytes) -> str:
    return _mac(secret, "correcteur", GRADER)


def grader_auth(secret: bytes) -> str:
    """`user:password` of the room's grader (written for `incubo grade autograde` by the hub)."""
    return f"{GRADER}:{grader_password(secret)}"


#: The header that carries `wake_token` to the dashboard's « réveil » route.
WAKE_HEADER = "X-Incubo-Reveil"


def wake_token(secret: bytes) -> str:
    """What the gate shows the dashboard to say « something new was stored »."""
    return _mac(secret, "reveil", "tableau-de-bord")


def learner_auth(secret: bytes, user: str) -> str:
    """`INCUBO_LRS_AUTH` of one learner's kernel."""
    return f"{user}:{learner_password(secret, user)}"


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
