"""The room's private nbgrader exchange: its layout and a copy that never follows a link.

Shared by the hub (which creates the folders and fetches for learners) and
the trainer's commands (release, collect, feedback). Stock nbgrader keeps
every submission and every feedback file of a course in two shared folders
that every student can enter (nbgrader #1225, #978); here each learner has
a folder of their own under `inbound/` and `feedback/`, that only they and
the trainers' Unix group may enter. Learners see the stock layout through a
per-learner view of symbolic links in their home (`~/.incubo/echange`), so
nbgrader's own Assignment List, submit and fetch-feedback work unchanged.

    <exchange>/                       root 0755
      <course>/                       root 0755
        outbound/<module>/            root 0755/0644: released modules, readable by all
        inbound/                      root:<trainers> 0751: nobody lists the learners
          <learner>/                  <learner>:<trainers> 2770: that learner's submissions
        feedback/                     root:<trainers> 0751
          <learner>/                  <learner>:<trainers> 2770: that learner's feedback

See docs/contracts.md (« Échange nbgrader du hub »).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

#: Where, in a learner's home, the per-learner view of the exchange lives (nbgrader's Exchange.root).
VIEW_DIR = Path(".incubo") / "echange"
#: A hub name usable as a folder and an nbgrader student id ('+' separates nbgrader's file name parts).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_@-][A-Za-z0-9_.@-]{0,63}$")


def safe_name(name: str) -> bool:
    """True when `name` can name a learner's folder (no '/', '+', leading '.', nor empty)."""
    return bool(_SAFE_NAME.match(name))


@dataclass(frozen=True)
class ExchangeLayout:
    """Paths of one course in the exchange."""

    root: Path
    course_id: str

    @property
    def course(self) -> Path:
        return self.root / self.course_id

    @property
    def outbound(self) -> Path:
        return self.course / "outbound"

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"

    def inbound_of(self, learner: str) -> Path:
        return self.inbound / learner

    def feedback_of(self, learner: str) -> Path:
        return self.feedback / learner

    def released(self) -> list[str]:
        """Names of the modules released so far."""
        if not self.outbound.is_dir():
            return []
        return sorted(
            p.name for p in self.outbound.iterdir() if p.is_dir() and not p.name.startswith(".")
        )


def copy_tree_nofollow(src: Path, dest: Path, *, ignore: tuple[str, ...] = ()) -> int:
    """Copy regular files and folders of `src` into `dest`, skipping links, FIFOs and devices.

    Used when a privileged process (root, a trainer) reads a folder a learner
    controls: a planted symbolic link must never make it copy a file the
    learner may not read (a source notebook, another learner's work).
    Returns the number of files copied.
    """
    import fnmatch

    count = 0
    dest.mkdir(parents=True, exist_ok=True)
    fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        entries = sorted(os.listdir(fd))
    finally:
        os.close(fd)
    for name in entries:
        if any(fnmatch.fnmatch(name, pattern) for pattern in ignore):
            continue
        path = src / name
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode):
            count += copy_tree_nofollow(path, dest / name, ignore=ignore)
        elif stat.S_ISREG(st.st_mode):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except OSError as exc:
                log.warning("skipped %s: %s", path, exc)
                continue
            with os.fdopen(fd, "rb") as fin, open(dest / name, "wb") as fout:
                shutil.copyfileobj(fin, fout)
            count += 1
        else:
            log.warning("skipped %s: not a regular file nor a folder", path)
    return count


def write_file_atomic(folder: Path, name: str, data: bytes, mode: int = 0o644) -> Path:
    """Write `folder/name` through a new temporary file and a rename (never follows a planted link)."""
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return folder / name
