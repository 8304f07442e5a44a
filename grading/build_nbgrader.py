"""The nbgrader side of the build: configuration, `generate_assignment`, gradebook.

nbgrader's own GenerateAssignment runs in-process, once per assignment, on a
temporary course directory next to the real one; its gradebook is a copy of
the real one so that nbgrader's own checks (no cell removed once
submissions exist) apply before anything real is touched.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from pathlib import Path

from incubo import course_layout
from incubo.errors import IncuboError
from incubo.gradebook import alembic_head, in_process_alembic_head  # noqa: F401 - one stamp

log = logging.getLogger(__name__)

CONFIG_FILE = "nbgrader_config.py"
GRADEBOOK = course_layout.GRADEBOOK
COURSE_ID = "incubo"
CODE_STUB = "# VOTRE CODE ICI\nraise NotImplementedError()"
TEXT_STUB = "VOTRE RÉPONSE ICI"
IGNORE = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

CONFIG_TEXT = f"""\
# Configuration nbgrader de ce dossier de cours, écrite par « incubo build ».
# Vous pouvez la modifier : incubo ne réécrit jamais ce fichier.
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {COURSE_ID!r}
c.CourseDirectory.ignore = {IGNORE!r}
c.ClearSolutions.code_stub = {{"python": {CODE_STUB!r}}}
c.ClearSolutions.text_stub = {TEXT_STUB!r}
"""


def defaults():
    """incubo's nbgrader settings, under whatever the trainer configured."""
    from traitlets.config import Config

    cfg = Config()
    cfg.CourseDirectory.course_id = COURSE_ID
    cfg.CourseDirectory.ignore = list(IGNORE)
    cfg.ClearSolutions.code_stub = {"python": CODE_STUB}
    cfg.ClearSolutions.text_stub = TEXT_STUB
    return cfg


def trainer_config(course_dir: Path):
    """The course directory's own nbgrader_config.py, read without changing it."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    path = course_dir / CONFIG_FILE
    if not path.is_file():
        return Config()
    try:
        return PyFileConfigLoader(CONFIG_FILE, path=str(course_dir)).load_config()
    except Exception as exc:
        raise IncuboError(
            f"{path} : ce fichier de configuration nbgrader ne se charge pas ({type(exc).__name__} : {exc}) ; corrigez-le.",
            code="config-nbgrader",
        ) from None


def write_config_if_absent(course_dir: Path) -> bool:
    """Write our nbgrader_config.py only where there is none (never clobber a trainer's)."""
    path = course_dir / CONFIG_FILE
    if path.exists():
        return False
    path.write_text(CONFIG_TEXT, encoding="utf-8")
    return True


def merged_config(course_dir: Path):
    cfg = defaults()
    cfg.merge(trainer_config(course_dir))
    return cfg


def layout(course_dir: Path, cfg) -> tuple[str, str, str]:
    """(source dir name, release dir name, db_url) as nbgrader will see this course directory.

    Read from the configuration without importing nbgrader (a no-op rebuild stays fast).
    """
    section = cfg.get("CourseDirectory", {})
    return (
        str(section.get("source_directory", "source")),
        str(section.get("release_directory", "release")),
        str(section.get("db_url", default_db_url(course_dir))),
    )


def default_db_url(course_dir: Path) -> str:
    return "sqlite:///" + os.path.join(str(course_dir), GRADEBOOK)


def snapshot_gradebook(course_dir: Path, work: Path) -> tuple[int, int] | None:
    """Copy the real SQLite gradebook into `work` (consistent copy); return its stat stamp."""
    real = course_dir / GRADEBOOK
    if not real.exists():
        return None
    stamp = (real.stat().st_mtime_ns, real.stat().st_size)
    src = sqlite3.connect(f"file:{real}?mode=ro", uri=True)
    dst = sqlite3.connect(work / GRADEBOOK)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    return stamp


def check_gradebook_unchanged(course_dir: Path, stamp: tuple[int, int] | None) -> None:
    """Refuse to go on if someone wrote to the real gradebook since the snapshot."""
    real = course_dir / GRADEBOOK
    now = (real.stat().st_mtime_ns, real.stat().st_size) if real.exists() else None
    if now != stamp:
        raise IncuboError(
            f"Le carnet de notes {real} a été modifié pendant la construction ; relancez « incubo build ».",
            code="carnet-modifie",
        )


def install_gradebook(course_dir: Path, work: Path, stamp: tuple[int, int] | None) -> None:
    """Put the updated gradebook in place, unless someone wrote to the real one meanwhile."""
    new = work / GRADEBOOK
    if not new.exists():
        return
    check_gradebook_unchanged(course_dir, stamp)
    os.replace(new, course_dir / GRADEBOOK)


def _nbgrader_path() -> None:
    """nbgrader runs the `alembic` script of its own environment: make sure it is found."""
    bindir = os.path.dirname(sys.executable)
    path = os.environ.get("PATH", "")
    if bindir not in path.split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + path


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def generate(root: Path, cfg, assignments: list[str], db_url: str, *, on_done=None) -> None:
    """Run nbgrader's GenerateAssignment for each assignment of `root` (in this process)."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    _nbgrader_path()
    nblog = logging.getLogger("incubo.grading.nbgrader")
    nblog.propagate = log.isEnabledFor(logging.DEBUG)
    for assignment in assignments:
        collect = _Collect()
        nblog.addHandler(collect)
        try:
            coursedir = CourseDirectory(
                config=cfg, root=str(root), assignment_id=assignment, db_url=db_url
            )
            converter = GenerateAssignment(coursedir=coursedir, config=cfg, log=nblog)
            converter.force = True
            converter.create_assignment = True
            converter.no_database = False
            with in_process_alembic_head():
                converter.start()
        except Exception as exc:
            detail = next((m for m in reversed(collect.messages) if "Cannot" in m), None) or (
                collect.messages[0].splitlines()[0]
                if collect.messages
                else f"{type(exc).__name__} : {exc}"
            )
            if "submissions" in detail:
                raise IncuboError(
                    f"Le module « {assignment} » a déjà des copies rendues : nbgrader refuse d'y ajouter ou d'en retirer "
                    f"des cellules notées ({detail}) ; créez plutôt un nouveau module.",
                    code="module-deja-rendu",
                ) from None
            raise IncuboError(
                f"nbgrader n'a pas pu générer le module « {assignment} » ({detail}) ; relancez avec --debug pour le détail.",
                code="nbgrader-echec",
            ) from exc
        finally:
            nblog.removeHandler(collect)
        if on_done:
            on_done(assignment)
