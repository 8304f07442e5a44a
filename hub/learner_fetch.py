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
it is not there yet; an existing copy is never touched.
"""

from __future__ import annotations

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


def fetch_released(home: Path, layout: ExchangeLayout) -> list[str]:
    """Copy every released module missing from `~/<course>/`; return the ones fetched now."""
    fetched = []
    dest_root = home / layout.course_id
    for module in layout.released():
        dest = dest_root / module
        if dest.exists() or dest.is_symlink():
            continue
        dest_root.mkdir(exist_ok=True)
        tmp = dest_root / f".{module}.partiel"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(layout.outbound / module, tmp, ignore=IGNORE)
        os.replace(tmp, dest)
        fetched.append(module)
    return fetched


def main(argv: list[str]) -> int:
    course_path, learner, course_id = Path(argv[0]), argv[1], argv[2]
    home = Path(os.environ.get("HOME") or os.path.expanduser("~"))
    if os.geteuid() == 0:
        print("learner_fetch refuses to run as root", file=sys.stderr)
        return 2
    layout = ExchangeLayout(course_path.parent, course_id)
    make_view(home, layout, learner)
    for module in fetch_released(home, layout):
        print(module)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
