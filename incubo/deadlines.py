"""A released module's due date and late policy: one small JSON file per module, beside the release.

    <exchange>/<course>/outbound/.echeances/<module>.json   0644 (0664 on a hub), readable by every learner
    {"echeance": "2026-12-12T16:00:00+00:00", "retard": "accepte" | "refuse"}

Written by whoever releases (`incubo grade release --echeance`, « Devoirs »), read by the
learner's « Mes modules » (to show « à rendre avant jeudi 12 décembre, 17 h » and to refuse a
late hand-in when the trainer chose so) and by collect (to mark a hand-in late). A module
released without a due date has no file. The file lives on disk, so it holds through a hub
restart.

When a hand-in happened is read from the kernel's change time of the submission folder
(`handed_in_at`): a learner can set a file's modification time and write any `timestamp.txt`,
not its change time.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from incubo import french_time
from incubo.errors import IncuboError

FOLDER = ".echeances"
ACCEPT = "accepte"
REFUSE = "refuse"
POLICIES = (ACCEPT, REFUSE)
#: The words the command line and « Devoirs » take for the policy.
POLICY_WORDS = {
    "accepte": ACCEPT,
    "accepter": ACCEPT,
    "accepté": ACCEPT,
    "refuse": REFUSE,
    "refuser": REFUSE,
    "refusé": REFUSE,
}
MAX_BYTES = 4096
#: Folders looked into when reading when a submission was handed in (a learner may nest many).
MAX_ENTRIES = 2000


@dataclass(frozen=True)
class Deadline:
    """When a module is due (aware, UTC) and what happens to a hand-in after it."""

    due: datetime
    late: str = ACCEPT

    def is_late(self, moment: datetime) -> bool:
        return moment > self.due

    def refuses(self, moment: datetime) -> bool:
        return self.late == REFUSE and self.is_late(moment)

    def french(self, now: datetime | None = None) -> str:
        """« à rendre avant jeudi 12 décembre, 17 h 00 »."""
        return f"à rendre avant {french_time.french_moment(self.due, now)}"

    def to_json(self) -> dict:
        return {"echeance": self.due.astimezone(UTC).isoformat(), "retard": self.late}


def parse_due(text: str) -> datetime:
    """A due date typed by a trainer (« 2026-12-12 17:00 », « 2026-12-12T17:00 », « 2026-12-12 »),
    in the room's time when it says no zone; a whole day means its end (23 h 59)."""
    raw = text.strip().replace("T", " ")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise IncuboError(
            f"Date d'échéance illisible : « {text} ». Écrivez-la comme « 2026-12-12 17:00 ».",
            code="echeance-illisible",
        ) from None
    if len(raw) == 10:  # a date alone: the end of that day
        moment = moment.replace(hour=23, minute=59)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=french_time.zone())
    return moment.astimezone(UTC)


def parse_policy(text: str) -> str:
    policy = POLICY_WORDS.get(text.strip().lower())
    if policy is None:
        raise IncuboError(
            f"Règle de retard inconnue : « {text} ». Choisissez « accepter » (rendu en retard, signalé) "
            "ou « refuser ».",
            code="retard-inconnu",
        )
    return policy


def path(outbound: Path, module: str) -> Path:
    return outbound / FOLDER / f"{module}.json"


def read(outbound: Path, module: str) -> Deadline | None:
    """The module's deadline, or None (none set, or a file that is not one: never an error for a learner)."""
    try:
        fd = os.open(path(outbound, module), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            data = json.loads(f.read(MAX_BYTES + 1)[:MAX_BYTES] or b"null")
        due = datetime.fromisoformat(data["echeance"])
        late = data.get("retard", ACCEPT)
        if due.tzinfo is None or late not in POLICIES:
            return None
        return Deadline(due.astimezone(UTC), late)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write(outbound: Path, module: str, deadline: Deadline | None) -> None:
    """Set (or, with None, remove) the module's deadline, readable by every learner."""
    from incubo.exchange import write_file_atomic

    target = path(outbound, module)
    if deadline is None:
        target.unlink(missing_ok=True)
        return
    from incubo.exchange import release_modes

    dir_mode, file_mode = release_modes(outbound)
    target.parent.mkdir(mode=dir_mode, exist_ok=True)
    if os.stat(target.parent).st_uid == os.geteuid():  # made by the other releasing account: as is
        os.chmod(target.parent, dir_mode)
    data = json.dumps(deadline.to_json()).encode()
    write_file_atomic(target.parent, target.name, data, file_mode)


def handed_in_at(submission: Path) -> datetime:
    """When a submission folder was handed in: its change time (the learner cannot set it)."""
    return datetime.fromtimestamp(os.lstat(submission).st_ctime, UTC)


def submission_time(folder: Path) -> datetime:
    """When a submission folder was handed in: the latest change time (ctime) of the folder and of
    everything in it, read without following a link (a learner sets neither, unlike mtimes)."""
    latest = handed_in_at(folder)
    stack, seen = [folder], 0
    while stack and seen < MAX_ENTRIES:
        seen += 1
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                st = entry.stat(follow_symlinks=False)
                latest = max(latest, datetime.fromtimestamp(st.st_ctime, UTC))
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
    return latest
