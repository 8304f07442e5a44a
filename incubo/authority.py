"""Who vouches for a statement (xAPI `authority`), and where the room's grader finds its LRS.

On a hub, the LRS gate sets every statement's `authority` itself, whatever
the sender wrote: a learner's statements carry the learner
(`learner_authority`), the grading's carry the room's grader
(`grader_authority`), whose account lives under its own `homePage`, so that
no hub user name can ever look like it. Readers (the dashboard, reports)
tell a grade from a learner's own claim with `by_grader`.

`incubo grade autograde` run on the hub machine finds the gate and the
grader's credential in `<hub_dir>/correction-lrs.json` (written by the hub
at each start, readable by the grader's account only), as the trainer's
commands find the exchange in `<hub_dir>/exchange`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The grader's account name at the gate (Basic auth) and in its authority.
GRADER = "correcteur"
#: What the grader's authority's `homePage` adds to the hub's URL (no learner's account lives there).
GRADER_HOME_SUFFIX = "/services/lrs/correction"
#: The grader's way to the room's LRS, in the hub's folder.
ACCESS_FILE = "correction-lrs.json"


def learner_authority(homepage: str, name: str) -> dict[str, Any]:
    """The authority of learner `name`'s statements: the learner, as their actor."""
    return {"objectType": "Agent", "account": {"homePage": homepage.rstrip("/"), "name": name}}


def grader_authority(homepage: str) -> dict[str, Any]:
    """The authority of the room's grading statements (`scored`, `passed`, `failed`)."""
    return {
        "objectType": "Agent",
        "name": "Correction automatique de la salle",
        "account": {"homePage": homepage.rstrip("/") + GRADER_HOME_SUFFIX, "name": GRADER},
    }


def by_grader(stmt: dict[str, Any]) -> bool:
    """Whether the LRS stored `stmt` on the grader's word (not on a learner's)."""
    authority = stmt.get("authority") if isinstance(stmt, dict) else None
    account = authority.get("account") if isinstance(authority, dict) else None
    return (
        isinstance(account, dict)
        and account.get("name") == GRADER
        and str(account.get("homePage", "")).rstrip("/").endswith(GRADER_HOME_SUFFIX)
    )


@dataclass(frozen=True)
class GraderAccess:
    """The gate's statements URL, the grader's `user:password`, and the hub's URL (actors' homePage)."""

    url: str
    auth: str
    homepage: str

    @property
    def password(self) -> str:
        return self.auth.partition(":")[2]


def write_access(hub_dir: Path, access: GraderAccess, owner: tuple[int, int] | None = None) -> Path:
    """Write `<hub_dir>/correction-lrs.json` (mode 0600, given to `owner` uid/gid when named)."""
    path = Path(hub_dir) / ACCESS_FILE
    tmp = path.with_name(f".{ACCESS_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"url": access.url, "auth": access.auth, "homepage": access.homepage}, fh)
        if owner is not None:
            os.fchown(fh.fileno(), *owner)
    os.replace(tmp, path)
    return path


def read_access(hub_dir: Path) -> GraderAccess | None:
    """The grader's access written by the hub, or None (no hub here, or not ours to read)."""
    path = Path(hub_dir) / ACCESS_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return GraderAccess(str(raw["url"]), str(raw["auth"]), str(raw["homepage"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("the room's grader access %s is unreadable: %s", path, err)
        return None
