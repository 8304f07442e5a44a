"""Parts depend on the core only (DESIGN.md, docs/contracts.md): a new import across parts fails here.

`incubo.widgets`, `.grading`, `.reports`, `.apps` and `.hub` import the core
`incubo` and themselves, never each other; the core imports none of them,
except its command line (`incubo/cli/`), which calls them all but never a
part's web handlers (a module that imports `tornado.web` or a Jupyter
server handler). Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("widgets", "grading", "reports", "apps", "hub")
#: Arrows between parts that docs/contracts.md allows, with why.
ALLOWED_ARROWS = {
    # a Voila app for non-coders is a notebook assembled from the learners' widgets (the quiz of
    # the day shows the module's `Quiz`); the widgets never import an app
    ("apps", "widgets"),
}
HANDLER_MODULES = ("tornado.web", "jupyter_server.base.handlers", "jupyterhub.services.auth")


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _part_of(module: str) -> str | None:
    """`incubo.hub.x` → `hub`; a core module → `incubo`; anything else (stdlib, third party) → None."""
    parts = module.split(".")
    if parts[0] != "incubo":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in PARTS else "incubo"


def _handler_modules(root: Path) -> set[str]:
    """The parts' modules that define web handlers (import Tornado's or Jupyter's handler classes)."""
    out = set()
    for part in PARTS:
        for path in (root / part).rglob("*.py"):
            names = {name for _, name in _imported(ast.parse(path.read_text(encoding="utf-8")))}
            if any(n == h or n.startswith(h + ".") for n in names for h in HANDLER_MODULES):
                out.add(f"incubo.{part}.{path.stem}")
    return out


def violations(root: Path) -> list[str]:
    """Every import across parts in the tree at `root`, as « file:line: imports module »."""
    handlers = _handler_modules(root)
    out = []
    for folder in ("incubo", *PARTS):
        for path in sorted((root / folder).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            cli = rel.startswith("incubo/cli/")
            for line, name in _imported(ast.parse(path.read_text(encoding="utf-8"))):
                target = _part_of(name)
                if target is None or target in ("incubo", folder):
                    continue
                if (folder, target) in ALLOWED_ARROWS:
                    continue
                if cli and not any(name == h or name.startswith(h + ".") for h in handlers):
                    continue
                out.append(f"{rel}:{line}: imports {name}")
    return sorted(set(out))


def test_parts_import_the_core_only() -> None:
    found = violations(ROOT)
    assert not found, "Imports entre parties (passez par le cœur incubo) :\n" + "\n".join(found)


def test_the_check_reports_a_planted_cross_part_import(tmp_path: Path) -> None:
    for folder in ("incubo/cli", *PARTS):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "hub" / "page.py").write_text("from tornado import web\n")
    (tmp_path / "hub" / "ok.py").write_text("from incubo import lrs\nfrom incubo.hub import page\n")
    (tmp_path / "incubo" / "cli" / "ok.py").write_text("from incubo.grading import build\n")
    assert violations(tmp_path) == []

    (tmp_path / "hub" / "bad.py").write_text("def f():\n    from incubo.widgets import progress\n")
    (tmp_path / "incubo" / "core.py").write_text("import incubo.reports.sources\n")
    (tmp_path / "incubo" / "cli" / "bad.py").write_text("from incubo.hub.page import Handler\n")
    assert violations(tmp_path) == [
        "hub/bad.py:2: imports incubo.widgets.progress",
        "incubo/cli/bad.py:1: imports incubo.hub.page.Handler",
        "incubo/core.py:1: imports incubo.reports.sources",
    ]
