"""No function outside the tests is longer than a reader can follow (80 lines, decorators excluded).

A long function is split into named steps. The few left long are listed here
with why; the list only shrinks: a function that gets short must leave it, and
a new long one fails.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = (
    "incubo",
    "widgets",
    "grading",
    "reports",
    "apps",
    "hub",
    "deploy",
    "benchmarks",
    "courses",
)
LIMIT = 80

#: "path:function" → why it is still long. Each is a split to do, not a licence.
ALLOWED: dict[str, str] = {}


def long_functions() -> dict[str, int]:
    found = {}
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "fixtures" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    length = node.end_lineno - node.lineno + 1
                    if length > LIMIT:
                        found[f"{path.relative_to(ROOT)}:{node.name}"] = length
    return found


def test_no_function_is_longer_than_80_lines():
    too_long = {name: n for name, n in long_functions().items() if name not in ALLOWED}
    assert not too_long, (
        f"functions over {LIMIT} lines (split them into named steps): "
        + ", ".join(f"{name} ({n} lines)" for name, n in sorted(too_long.items()))
    )


def test_the_allow_list_only_names_functions_still_long():
    stale = sorted(set(ALLOWED) - set(long_functions()))
    assert not stale, f"no longer over {LIMIT} lines, remove from ALLOWED: {stale}"
