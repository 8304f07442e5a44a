"""A course for séance tests and benchmarks: one module in two steps and an optional notebook.

The module is the widgets' fixture (`essai-01`: a lesson, an exercise set, a quiz bank) with a
third notebook marked `optionnel`, as `incubo build` writes it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import shutil
from pathlib import Path

import pytest
import requests

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


# --- one room hub for the séance's hub tests ----------------------------------------------------
#
# test_seance_hub and test_seance_service both need a real hub on this course with Ralph behind the
# gate; starting one costs ~15 s and stopping it as much again. Both modules use `seance_room`:
# the hub starts with the first of them and stops after the last one (or when the run stops early;
# at exit otherwise). Each module starts with no séance open.

_shared: dict = {}


def _stop_shared() -> None:
    stack = _shared.pop("stack", None)
    _shared.clear()
    if stack is not None:
        stack.close()


def _later_users(request) -> bool:
    """Whether a test after this module's still needs the shared hub."""
    items = request.session.items
    mine = [i for i, item in enumerate(items) if getattr(item, "module", None) is request.module]
    return any("seance_room" in item.fixturenames for item in items[max(mine, default=-1) + 1 :])


@pytest.fixture(scope="module")
def seance_room(request):
    """The shared room hub (see above): `hub.trainer` may drive séances from the dashboard."""
    from harness import wait_for
    from hub_support import shared_tmp, start_hub, unique_name

    from incubo.config import hub_settings
    from incubo.hub import lrs_keys, seance_ops
    from incubo.seance import current

    if "hub" not in _shared:
        atexit.register(_stop_shared)
        stack = contextlib.ExitStack()
        _shared["stack"] = stack
        course = shared_tmp("incubo-seance-") / "cours"
        stack.callback(shutil.rmtree, course.parent, ignore_errors=True)
        make_course(course, sides=("source", "release"))
        trainer = unique_name("f")
        hub = stack.enter_context(start_hub(formateurs=[trainer], course_dir=course))
        try:
            wait_for(
                lambda: (
                    requests.get(hub.url + "/services/lrs/__heartbeat__", timeout=5).status_code
                    == 200
                ),
                timeout=120,
                what="Ralph behind the gate",
            )
        except TimeoutError:
            print(hub.log()[-6000:])
            _stop_shared()
            raise
        hub.trainer = trainer
        hub.secret = lrs_keys.gate_secret(hub.hub_dir)
        _shared["hub"] = hub
    hub = _shared["hub"]
    left = current(hub.hub_dir)  # an earlier module's séance, left open by a failure
    if left is not None:
        seance_ops.close_seance(hub_settings(env=hub.env), left.code)
    try:
        yield hub
    finally:
        session = request.session
        if session.shouldstop or session.shouldfail or not _later_users(request):
            _stop_shared()
