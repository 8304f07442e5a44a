"""nbgrader's own autograde steps, cut where the kernel runs.

`nbgrader autograde` does, per submission: copy files, record the student
and submission, then per notebook a *sanitising* export (ClearOutput,
DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata),
a write, and an *autograding* export (Execute, IgnorePattern,
ClearMetadata, LimitOutput, SaveAutoGrades, AssignLatePenalties,
CheckCellMetadata). We run the same preprocessors, from the course's own
configuration, in the same order, with the same exporter (so the same
validation); only Execute is driven by `executor` on a sandboxed kernel.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.writers import FilesWriter
from nbgrader.api import MissingEntry
from nbgrader.converters.autograde import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import find_all_files
from traitlets.config import Config

log = logging.getLogger(__name__)
nb_log = logging.getLogger("incubo.grading.nbgrader")
if nb_log.level == logging.NOTSET:
    nb_log.setLevel(
        logging.CRITICAL
    )  # nbgrader's and nbclient's complaints become verdicts; --debug shows them


class _CachedJsonSchema:
    """`jsonschema` for nbgrader's metadata validator, with the schema checked and compiled once.

    nbgrader calls `jsonschema.validate(metadata, schema)` for every cell of
    every notebook, which re-checks the schema each time (a third of our own
    CPU per notebook). Same validation, same errors, done once per schema.
    """

    def __init__(self) -> None:
        import jsonschema

        self._module = jsonschema
        self._validators: dict[str, object] = {}

    def __getattr__(self, name: str):
        return getattr(self._module, name)

    def validate(self, instance, schema, cls=None, *args, **kwargs) -> None:
        import json

        key = json.dumps(schema, sort_keys=True, default=str)
        validator = self._validators.get(key)
        if validator is None:
            cls = cls or self._module.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self._validators[key] = cls(schema, *args, **kwargs)
        error = self._module.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


def _speed_up_metadata_validation() -> None:
    from nbgrader.nbgraderformat import common

    if not isinstance(common.jsonschema, _CachedJsonSchema):
        common.jsonschema = _CachedJsonSchema()


_speed_up_metadata_validation()


def load_config(course_dir: Path) -> Config:
    """The configuration stock nbgrader would read when started in `course_dir`."""
    from jupyter_core.paths import jupyter_config_path
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    config = Config()
    for folder in [*reversed(jupyter_config_path()), str(course_dir)]:
        for loader, name in (
            (JSONFileConfigLoader, "nbgrader_config.json"),
            (PyFileConfigLoader, "nbgrader_config.py"),
        ):
            if os.path.exists(os.path.join(folder, name)):
                config.merge(loader(name, path=folder).load_config())
    config.CourseDirectory.root = str(course_dir)
    config.Exporter.default_preprocessors = []
    return config


@dataclass
class Steps:
    """The course's preprocessor lists, split around Execute."""

    sanitize: list
    before_execute: list
    after_execute: list
    create_student: bool
    exclude_overwriting: dict


def steps_from_config(config: Config) -> Steps:
    converter = Autograde(coursedir=CourseDirectory(config=config), config=config)
    autograde = list(converter.autograde_preprocessors)
    split = next(
        (i for i, pp in enumerate(autograde) if isinstance(pp, type) and issubclass(pp, Execute)),
        None,
    )
    if split is None:
        from incubo.errors import IncuboError

        raise IncuboError(
            "La configuration nbgrader de ce cours n'exécute pas les notebooks (Execute absent "
            "de Autograde.autograde_preprocessors) : la correction automatique est impossible.",
            code="configuration-sans-execution",
        )
    return Steps(
        sanitize=list(converter.sanitize_preprocessors),
        before_execute=autograde[:split],
        after_execute=autograde[split + 1 :],
        create_student=converter.create_student,
        exclude_overwriting=dict(converter.exclude_overwriting),
    )


def exporter(config: Config, preprocessors: list) -> NotebookExporter:
    exp = NotebookExporter(config=config, log=nb_log)
    for pp in preprocessors:
        exp.register_preprocessor(
            pp
        )  # as nbgrader does: nbconvert's own stay off unless configured
    return exp


def resources_for(coursedir: CourseDirectory, assignment: str, student: str, notebook: str) -> dict:
    """What nbgrader's `init_single_notebook_resources` gives a notebook."""
    return {
        "unique_key": notebook,
        "output_files_dir": f"{notebook}_files",
        "nbgrader": {
            "student": student,
            "assignment": assignment,
            "notebook": notebook,
            "db_url": coursedir.db_url,
        },
    }


def copy_files(
    coursedir: CourseDirectory, steps: Steps, assignment: str, submitted: Path, dest: Path
) -> None:
    """The files nbgrader copies before grading: the student's, then the trainer's over them."""
    for filename in find_all_files(str(submitted), coursedir.ignore + ["*.ipynb"]):
        target = dest / os.path.relpath(filename, submitted)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        shutil.copy(filename, target)
    source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
    excluded = {os.path.join(str(source), x) for x in steps.exclude_overwriting.get(assignment, [])}
    for filename in sorted(
        set(find_all_files(str(source), coursedir.ignore + ["*.ipynb"])) - excluded
    ):
        target = dest / os.path.relpath(filename, source)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            target.unlink()
        shutil.copy(filename, target)


def sanitize(config: Config, steps: Steps, resources: dict, submitted_nb: Path, dest: Path) -> str:
    """Nbgrader's sanitising pass; writes the result into `dest` and returns the file's text."""
    output, res = exporter(config, steps.sanitize).from_filename(
        str(submitted_nb), resources=resources
    )
    writer = FilesWriter(config=config, log=nb_log)
    writer.build_directory = str(dest)
    writer.write(output, res, notebook_name=resources["unique_key"])
    return (dest / f"{resources['unique_key']}.ipynb").read_text(encoding="utf-8")


def start_resources(config: Config, steps: Steps, resources: dict, path: Path, text: str):
    """The sanitised notebook as the autograding export reads it, and what comes before Execute.

    `text` is the sanitised file as we wrote it, kept in memory: the working
    copy is writable by the student's kernels, so the file on disk may have
    been changed by another notebook of the same submission.
    """
    exp = exporter(config, steps.before_execute)
    nb = nbformat.reads(text, as_version=4)
    res = exp._init_resources(dict(resources))
    res["metadata"]["name"] = path.stem
    res["metadata"]["path"] = str(path.parent)
    if "language" in nb["metadata"]:
        res["language"] = nb["metadata"]["language"].lower()
    if steps.before_execute:
        nb, res = exp._preprocess(nb, res)
    return nb, res


def finish(config: Config, steps: Steps, nb, resources: dict, dest: Path) -> None:
    """The rest of the autograding export (SaveAutoGrades writes to the lent gradebook), then the write."""
    exp = exporter(config, steps.after_execute)
    output, res = exp.from_notebook_node(nb, resources)
    writer = FilesWriter(config=config, log=nb_log)
    writer.build_directory = str(dest)
    writer.write(output, res, notebook_name=resources["unique_key"])


def record_submission(
    gb, coursedir: CourseDirectory, steps: Steps, assignment: str, student: str, submitted: Path
) -> None:
    """Nbgrader's `init_assignment` writes: student, submission (with its timestamp), absent notebooks at 0."""
    if steps.create_student:
        gb.update_or_create_student(student)
    else:
        gb.find_student(student)
    timestamp = coursedir.get_existing_timestamp(str(submitted))
    if timestamp:
        gb.update_or_create_submission(assignment, student, timestamp=timestamp)
    else:
        gb.update_or_create_submission(assignment, student)
    for notebook in gb.find_assignment(assignment).notebooks:
        if not (submitted / f"{notebook.name}.ipynb").exists():
            zero_notebook(gb, assignment, student, notebook.name)


def zero_notebook(gb, assignment: str, student: str, notebook: str) -> None:
    """What nbgrader does for a notebook that was not submitted; we do it for one we could not grade."""
    try:
        submission = gb.find_submission_notebook(notebook, assignment, student)
    except MissingEntry:
        return
    for grade in submission.grades:
        grade.auto_score = 0
        grade.needs_manual_grade = False
    gb.db.commit()


def set_permissions(config: Config, coursedir: CourseDirectory, dest: Path) -> None:
    """Stock nbgrader leaves autograded files read-only (444, or 664 when group-shared)."""
    from nbgrader.converters.base import BaseConverter

    conv = BaseConverter(coursedir=coursedir, config=config)
    mode = int(str(conv.permissions), 8)
    for root, _dirs, files in os.walk(dest):
        for name in files:
            os.chmod(os.path.join(root, name), mode)
