"""Run as the learner (never as root): the exchange view in their home, then every released module.

`python -m incubo.hub.learner_fetch EXCHANGE_COURSE LEARNER COURSE_ID`,
started by `incubo.hub.exchange.prepare_learner` with the learner's uid, so
whatever the learner planted in their home (links, odd permissions) can only
affect their own files. Standard library only: it runs at every login.

The view, `~/.incubo/echange/<course>/`, holds three links: `outbound` (the
released modules), `inbound` (this learner's submission folder) and
`feedback` (this learner's feedback folder). nbgrader's stock Exchange,
with `Exchange.root` set to the view, then submits and fetches feedback
into the learner's own folders only. A module is fetched to
`~/<course>/<module>/` (nbgrader's place with `path_includes_course`) when
it is not there yet; in a copy already there, notebooks released since are
added and nothing else is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from incubo.exchange import VIEW_DIR, ExchangeLayout

IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc", ".*")


def make_view(home: Path, layout: ExchangeLayout, learner: str) -> Path:
    """Create (or repair) the learner's links to their own exchange folders."""
    view = home / VIEW_DIR / layout.course_id
    view.mkdir(parents=True, exist_ok=True)
    os.chmod(home / VIEW_DIR.parts[0], 0o700)
    targets = {
        "outbound": layout.outbound,
        "inbound": layout.inbound_of(learner),
        "feedback": layout.feedback_of(learner),
    }
    for name, target in targets.items():
        link = view / name
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        link.symlink_to(target)
    return view.parent


#: Written by `incubo.hub.seance_ops` in a module a séance is running (its optional notebooks
#: wait until the learner has finished the unlocked steps: the lab's séance panel fetches them).
SEANCE_MANIFEST = ".seance.json"


def _held_back(source: Path) -> set[str]:
    """Notebook file names of `source` not to fetch now (a séance's optional notebooks)."""
    try:
        manifest = json.loads((source / SEANCE_MANIFEST).read_text(encoding="utf-8"))
        return {f"{name}.ipynb" for name in manifest.get("optionnels") or []}
    except (OSError, ValueError, AttributeError, TypeError):
        return set()


def _ignoring(source: Path, held: set[str]):
    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(IGNORE(folder, names))
        return skipped | ({n for n in names if n in held} if Path(folder) == source else set())

    return ignore


#: `.recu-<module>`, written in the learner's own submission folder once the module is in their
#: home: « Devoirs » (the grader, in the trainers' group) reads who has received it there.
RECEIVED_MARK = ".recu-"


def mark_received(folder: Path | None, module: str) -> None:
    """Leave `.recu-<module>` in the learner's submission folder (their own; never fails the fetch)."""
    if folder is None:
        return
    mark = folder / f"{RECEIVED_MARK}{module}"
    try:
        if not os.path.lexists(mark):
            fd = os.open(mark, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o640)
            os.close(fd)
    except OSError:
        pass


def fetch_released(
    home: Path, layout: ExchangeLayout, only: set[str] | None = None, mark: Path | None = None
) -> list[str]:
    """Copy every released module (of `only`, when given) missing from `~/<course>/`; return the
    ones fetched now. `mark`: the learner's submission folder, where each module in the home
    leaves its `.recu-<module>` mark.

    A module already there keeps every file it has; files released since (a séance's later
    steps, the rest of a module after its séance) are added beside them.
    """
    fetched = []
    for module in layout.released():
        if only is not None and module not in only:
            continue
        if _fetch_one(home / layout.course_id, layout, module):
            fetched.append(module)
        if (home / layout.course_id / module).is_dir():
            mark_received(mark, module)
    return fetched


def _fetch_one(dest_root: Path, layout: ExchangeLayout, module: str) -> bool:
    """Fetch one module into `dest_root`; True when something was copied."""
    source = layout.outbound / module
    held = _held_back(source)
    dest = dest_root / module
    if dest.is_symlink():
        return False
    if dest.exists():
        added = [
            p.name
            for p in sorted(source.glob("*.ipynb"))
            if p.name not in held and not os.path.lexists(dest / p.name)
        ]
        for name in added:
            shutil.copyfile(source / name, dest / name)
        return bool(added)
    dest_root.mkdir(exist_ok=True)
    tmp = dest_root / f".{module}.partiel"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp, ignore=_ignoring(source, held))
    os.replace(tmp, dest)
    return True


def main(argv: list[str]) -> int:
    course_path, learner, course_id = Path(argv[0]), argv[1], argv[2]
    home = Path(os.environ.get("HOME") or os.path.expanduser("~"))
    if os.geteuid() == 0:
        print("learner_fetch refuses to run as root", file=sys.stderr)
        return 2
    layout = ExchangeLayout(course_path.parent, course_id)
    make_view(home, layout, learner)
    for module in fetch_released(home, layout, mark=layout.inbound_of(learner)):
        print(module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
