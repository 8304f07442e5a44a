"""A course for séance tests and benchmarks: one module in two steps and an optional notebook.

The module is the widgets' fixture (`essai-01`: a lesson, an exercise set, a quiz bank) with a
third notebook marked `optionnel`, as `incubo build` writes it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
MODULE = "essai-01"


def notebook(title: str) -> str:
    return json.dumps({
        "cells": [{"cell_type": "markdown", "id": "titre", "metadata": {}, "source": f"# {title}"}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5,
    })  # fmt: skip


def make_course(course: Path, *, sides: tuple[str, ...] = ("release",)) -> Path:
    """The module in `course/<side>/essai-01` for each side (`source`, `release`); returns `course`."""
    for side in sides:
        folder = course / side / MODULE
        shutil.copytree(FIXTURE, folder)
        data = json.loads((folder / "incubo_exercices.json").read_text())
        data["titre"] = "Module d'essai"
        data["notebooks"]["03-plus-loin"] = {
            "type": "exercices",
            "titre": "Pour aller plus loin",
            "optionnel": True,
        }
        (folder / "incubo_exercices.json").write_text(json.dumps(data, ensure_ascii=False))
        for name, meta in data["notebooks"].items():
            (folder / f"{name}.ipynb").write_text(notebook(meta["titre"]))
    if "source" in sides:  # what nbgrader wants of a course directory
        (course / "gradebook.db").write_bytes(b"")
        (course / "nbgrader_config.py").write_text(
            'c = get_config()\nc.CourseDirectory.course_id = "incubo"\n'
        )
    return course
