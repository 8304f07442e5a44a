"""What a hub releases to learners: exercise files without their solutions.

On one machine `incubo_exercices.json` carries each solution (compressed,
base64) and the widget applies the policy itself. Whatever goes through the
hub's exchange to learners' homes is stripped here first: the hub's
`solutions` service (`incubo.hub.solutions`) keeps the answers and serves
them by policy. An exercise keeps its policy, gets `solution_serveur` and the
names its answer defines (`noms_requis`: the check needs them to tell
« nothing written yet » from « wrong »). Core module: grading (the release)
and the hub both use it.
"""

from __future__ import annotations

import ast
import builtins
import logging
from pathlib import Path
from typing import Any

from incubo import exercise_data
from incubo.exercise_data import FILE_NAME as SIDECAR
from incubo.exercise_data import decode_solution

log = logging.getLogger(__name__)


def _parse(source: str) -> ast.Module | None:
    try:
        return ast.parse(source)
    except SyntaxError:
        return None


def defined_names(tree: ast.AST) -> set[str]:
    """Names a piece of code binds (assignments, functions, classes, imports)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def read_names(tree: ast.AST) -> set[str]:
    """Names a test reads, including `"x" in globals()` checks."""
    names = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Compare)
            and isinstance(node.left, ast.Constant)
            and isinstance(node.left.value, str)
            and any(
                isinstance(c, ast.Call)
                and isinstance(c.func, ast.Name)
                and c.func.id in ("globals", "locals", "dir")
                for c in node.comparators
            )
        ):
            names.add(node.left.value)
    return names


def answer_names(tests: str, solution: str | None) -> list[str]:
    """Names the learner's answer must define for the visible tests to mean anything."""
    tree = _parse(tests or "")
    if tree is None:
        return []
    needed = read_names(tree) - defined_names(tree) - set(dir(builtins))
    sol_tree = _parse(solution) if solution else None
    if sol_tree is not None:
        from_answer = defined_names(sol_tree) & needed
        if from_answer:
            return sorted(from_answer)
    return sorted(needed)


def strip_solutions(sidecar: dict[str, Any]) -> dict[str, Any]:
    """A copy of an exercise file's data without any solution text (encoded or not)."""
    out = dict(sidecar)
    exercises = {}
    for ex_id, exercise in (sidecar.get("exercices") or {}).items():
        ex = dict(exercise)
        had = bool(ex.get("solution")) or bool(
            ex.get("solution_serveur")
        )  # stripping twice changes nothing
        if ex.get("solution"):
            try:
                solution = decode_solution(ex["solution"])
            except Exception:  # unreadable: the names then come from the tests alone
                solution = None
            ex["noms_requis"] = answer_names(ex.get("tests_visibles") or "", solution)
        ex["solution"] = None
        ex["solution_serveur"] = had
        exercises[ex_id] = ex
    out["exercices"] = exercises
    return out


def strip_release(folder: Path) -> int:
    """Strip every `incubo_exercices.json` under `folder` in place; returns how many were rewritten."""
    count = 0
    for path in sorted(Path(folder).rglob(SIDECAR)):
        data = exercise_data.read_file(path)
        stripped = strip_solutions(data)
        if stripped != data:
            exercise_data.write_file(path, stripped)
            count += 1
    return count
