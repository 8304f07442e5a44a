"""Visible checks tell the learner what is wrong without giving the answer (issue 11, item 4).

For every exercise of every shipped parcours, the solution is run for real
after the notebook's own setup cells; then the visible test cell (what the
learner reads) is scanned for

- the solution's expressions (the right-hand side of each assignment or return),
- the values the solution computes, as a literal, as a constant expression
  (``37 + 45 + 52``, ``121 / 134 * 100``) or written in a message (``48``, ``65,6``).

Values the statement itself gives (a name assigned a plain literal, such as
``commune = "Rodez"``) are not answers and are not scanned. Every exercise must
still have visible checks, each with a teaching message.
"""

from __future__ import annotations

import ast
import math
import os
import re
import warnings
from pathlib import Path

import curriculum_support as cs
import pytest

SHIPPED = sorted(p.parent.name for p in cs.COURSES.glob("*/parcours.yml"))


def _exercises() -> list[tuple[str, cs.Exercise]]:
    return [
        (pid, ex)
        for pid in SHIPPED
        for m in cs.modules(pid)
        for stem in m["notebooks"]
        for ex in cs.exercises_of(pid, stem)
    ]


EXERCISES = _exercises()


def _strip(node: ast.AST) -> str:
    return ast.dump(node, annotate_fields=False, include_attributes=False)


def _trivial(node: ast.AST) -> bool:
    """A literal or a bare name: data the statement gives, not a formula."""
    if isinstance(node, ast.Constant | ast.Name):
        return True
    if isinstance(node, ast.List | ast.Tuple | ast.Set | ast.Dict):
        return all(
            _trivial(n) for n in ast.iter_child_nodes(node) if not isinstance(n, ast.expr_context)
        )
    return False


def solution_expressions(solution: str) -> list[ast.expr]:
    exprs = []
    for node in ast.walk(ast.parse(solution)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.Return) and node.value is not None:
            if not _trivial(node.value):
                exprs.append(node.value)
    return exprs


def computed_names(solution: str) -> set[str]:
    """Top-level names the solution computes (not only assigns a literal)."""
    tree = ast.parse(solution)
    literal_only: dict[str, bool] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        literal_only[name.id] = literal_only.get(name.id, True) and _trivial(
                            node.value
                        )
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            literal_only[node.target.id] = False
        elif (  # communes.append(...): the solution changes a list
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute)
            and isinstance(node.value.func.value, ast.Name)
        ):
            literal_only[node.value.func.value.id] = False
    loop_names = {
        n.target.id
        for n in ast.walk(tree)
        if isinstance(n, ast.For) and isinstance(n.target, ast.Name)
    }
    return {
        name for name, literal in literal_only.items() if not literal and name not in loop_names
    }


def _scalar(value) -> object | None:
    """Numbers, texts, dates and short lists of them: what a check could print."""
    if isinstance(value, bool) or value is None:
        return None
    if type(value).__name__ == "datetime64":
        return str(value)[:10]
    if hasattr(value, "item") and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, int | float | str):
        return value
    if (
        isinstance(value, list)
        and 0 < len(value) <= 20
        and all(isinstance(v, int | float | str) for v in value)
    ):
        return value
    return None


def run_solution(pid: str, ex: cs.Exercise, work: Path) -> dict[str, object]:
    """The values of the names the solution computes, after the notebook's setup cells."""
    cs.prepare_workdir(pid, work)
    previous = Path.cwd()
    os.chdir(work)
    try:
        widgets = {
            name: (lambda *a, **k: None) for name in ("indice", "verifier", "solution", "Quiz")
        }
        namespace: dict = {
            "__name__": "__main__",
            **widgets,
        }  # the widget cells show, they compute nothing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for setup in ex.setup:
                exec(compile(setup, f"<{ex.notebook}>", "exec"), namespace)
            exec(compile(ex.solution, f"<{ex.ident}>", "exec"), namespace)
    finally:
        os.chdir(previous)
    values = {}
    for name in computed_names(ex.solution):
        scalar = _scalar(namespace.get(name))
        if scalar is not None and not (isinstance(scalar, int | float) and abs(scalar) < 2):
            values[name] = scalar
    return values


def _same_number(found: float, value: float) -> bool:
    if isinstance(value, float) and not value.is_integer():
        decimals = len(repr(value).split(".")[1]) if "." in repr(value) else 0
        return round(found, decimals) == value or math.isclose(found, value, rel_tol=1e-9)
    return found == value


def _constants(tree: ast.AST) -> list[object]:
    """Every literal and every constant arithmetic expression of the test cell, evaluated."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
            out.append(node.value)
        elif isinstance(node, ast.BinOp | ast.UnaryOp | ast.List | ast.Tuple) and all(
            isinstance(
                n,
                ast.Constant
                | ast.operator
                | ast.unaryop
                | ast.BinOp
                | ast.UnaryOp
                | ast.expr_context,
            )
            for n in ast.walk(node)
        ):
            try:
                out.append(
                    eval(compile(ast.Expression(node), "<const>", "eval"), {"__builtins__": {}})
                )
            except Exception:
                pass
    return out


def _texts(tree: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _number_forms(value: float) -> list[str]:
    if isinstance(value, int) or float(value).is_integer():
        return [str(int(value))]
    text = repr(value)
    return [text, text.replace(".", ",")]


def giveaways(visible: str, solution: str, values: dict[str, object]) -> list[str]:
    """What the visible test cell shows of the solution (empty: it gives nothing away)."""
    tree = ast.parse(visible)
    found = []
    subtrees = {_strip(n) for n in ast.walk(tree) if isinstance(n, ast.expr)}
    flat_visible = re.sub(r"\s+", "", visible)
    for expr in solution_expressions(solution):
        if _strip(expr) in subtrees or re.sub(r"\s+", "", ast.unparse(expr)) in flat_visible:
            found.append(f"l'expression de la solution « {ast.unparse(expr)} »")
    constants, texts = _constants(tree), _texts(tree)
    for name, value in values.items():
        items = (
            [] if isinstance(value, list) else [value]
        )  # a list's items may be the statement's words
        for const in constants:
            if const == value or (
                not isinstance(value, list)
                and isinstance(value, int | float)
                and isinstance(const, int | float)
                and not isinstance(const, bool)
                and _same_number(const, value)
            ):
                found.append(f"la valeur de {name} ({value!r}) écrite « {const!r} »")
        for item in items:
            if isinstance(item, str) and len(item) >= 2:
                pattern = re.escape(item)
            elif isinstance(item, int | float):
                pattern = "|".join(
                    rf"(?<![\d.,]){re.escape(f)}(?![\d]|[.,]\d)" for f in _number_forms(item)
                )
            else:
                continue
            for text in texts:
                if re.search(pattern, text):
                    found.append(f"la valeur de {name} ({item!r}) dans le texte « {text[:80]} »")
    return found


@pytest.mark.parametrize("pid,ex", EXERCISES, ids=[ex.ident for _pid, ex in EXERCISES])
def test_visible_checks_do_not_give_the_answer(pid, ex, tmp_path):
    values = run_solution(pid, ex, tmp_path / ex.ident)
    found = giveaways(ex.visible_tests, ex.solution, values)
    assert not found, f"{ex.ident} : la vérification visible montre " + " ; ".join(found)


@pytest.mark.parametrize("pid,ex", EXERCISES, ids=[ex.ident for _pid, ex in EXERCISES])
def test_every_exercise_keeps_visible_checks_with_teaching_messages(pid, ex):
    asserts = [n for n in ast.walk(ast.parse(ex.visible_tests)) if isinstance(n, ast.Assert)]
    assert len(asserts) >= 2, f"{ex.ident} : moins de deux vérifications visibles"
    for node in asserts:
        assert node.msg is not None, (
            f"{ex.ident} : « {ast.unparse(node.test)} » sans message pour l'apprenant"
        )
        words = " ".join(_texts(node.msg)).split()
        assert len(words) >= 3, (
            f"{ex.ident} : le message de « {ast.unparse(node.test)} » est trop court pour aider"
        )


def test_the_scan_catches_the_giveaways_of_issue_11():
    """The two examples of the issue, and a message that prints the value, are caught."""
    assert giveaways(
        'assert total_trimestre == 37 + 45 + 52, "Vérifiez la somme des trois mois."',
        "total_trimestre = 37 + 45 + 52\n",
        {"total_trimestre": 134},
    )
    assert giveaways(
        'assert abs(taux - 121 / 134 * 100) < 0.06, "Vérifiez votre calcul."',
        "taux = round(dossiers_traites / dossiers_recus * 100, 1)\n",
        {"taux": 90.3},
    )
    assert giveaways(
        'assert x == 1, "delai_jours vaut 12 au lieu de 48 jours."', "d = a - b\n", {"d": 48}
    )
    assert giveaways(
        'assert t > 1, "On attend 65,6 %."', "t = round(a / b * 100, 1)\n", {"t": 65.6}
    )
    assert not giveaways(
        'from incubo.widgets import conforme\nassert conforme(total, "0123456789abcdef"), "Revoyez le calcul."',
        "total = 12 + 30\n",
        {"total": 42},
    )
