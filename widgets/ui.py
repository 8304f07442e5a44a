"""Showing things to the learner: widgets in JupyterLab/Voila, plain text anywhere else.

Colours follow the French state design system (DSFR) and keep a contrast
ratio above 4.5:1 on their light backgrounds.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from incubo.widgets import session

log = logging.getLogger(__name__)

STYLES = {
    "correct": ("#18753c", "#b8fec9", "✔"),
    "incorrect": ("#ce0500", "#ffe9e9", "✘"),
    "erreur": ("#b34000", "#fff4ed", "⚠"),
    "non-tente": ("#0063cb", "#e8edff", "ℹ"),
    "info": ("#3a3a3a", "#f6f6f6", "ℹ"),
}


def widget_frontend() -> bool:
    """True in a Jupyter kernel (JupyterLab, Voila), where widgets can render."""
    if session.grading():
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
    except Exception:
        return False


def box_html(kind: str, text: str, *, live: bool = True) -> str:
    """A coloured message; `role=status` so screen readers announce the verdict."""
    fg, bg, sign = STYLES.get(kind, STYLES["info"])
    lines = [html.escape(line, quote=False) for line in text.strip().splitlines()]
    body = "<br>".join(lines)
    role = ' role="status" aria-live="polite"' if live else ""
    return (
        f'<div class="incubo-message incubo-{kind}"{role} lang="fr" '
        f'style="color:{fg};background:{bg};border-left:4px solid {fg};padding:.4em .8em;margin:.3em 0">'
        f'<span aria-hidden="true">{sign}</span> {body}</div>'
    )


def code_html(source: str, title: str) -> str:
    return (
        f'<div class="incubo-solution" lang="fr"><strong>{html.escape(title)}</strong>'
        f'<pre style="background:#f6f6f6;color:#161616;padding:.5em;border:1px solid #ddd">'
        f"<code>{html.escape(source, quote=False)}</code></pre></div>"
    )


class Message:
    """A coloured French message for `display()`: HTML in a frontend, plain text elsewhere."""

    def __init__(self, kind: str, text: str) -> None:
        self.kind, self.text = kind, text

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        _fg, _bg, sign = STYLES.get(self.kind, STYLES["info"])
        return {"text/plain": f"{sign} {self.text}", "text/html": box_html(self.kind, self.text)}


def verdict_display_id(ex_id: str) -> str:
    """One display id per exercise: a later right answer replaces an earlier failure in place."""
    return f"incubo-verdict-{ex_id}"


def details_html(summary: str, text: str) -> str:
    """Technical detail one click away (closed by default), in French."""
    body = html.escape(text.strip(), quote=False)
    return (
        f'<details class="incubo-detail" lang="fr" style="margin:.2em 0 .4em 1em;color:#3a3a3a">'
        f"<summary>{html.escape(summary)}</summary>"
        f'<pre style="white-space:pre-wrap;background:#f6f6f6;color:#161616;padding:.4em">{body}</pre></details>'
    )


class Failure:
    """A failed check: the French verdict, and its technical detail folded away (no traceback)."""

    def __init__(self, kind: str, text: str, detail: str) -> None:
        self.kind, self.text, self.detail = kind, text, detail

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        _fg, _bg, sign = STYLES.get(self.kind, STYLES["info"])
        folded = (
            details_html("Détail technique (cliquez pour l'afficher)", self.detail)
            if self.detail
            else ""
        )
        return {
            "text/plain": f"{sign} {self.text}",
            "text/html": box_html(self.kind, self.text) + folded,
        }


class Code:
    """A titled block of code for `display()` (the solution)."""

    def __init__(self, title: str, source: str) -> None:
        self.title, self.source = title, source

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {
            "text/plain": f"{self.title}\n{self.source}",
            "text/html": code_html(self.source, self.title),
        }


class TextFallback:
    """Mixin for widgets: their text/plain output is French text, not `VBox(children=...)`.

    So a notebook converted to HTML or read in a terminal still shows what
    the widget said.
    """

    def plain_text(self) -> str:  # pragma: no cover - overridden
        return ""

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        try:
            data = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]
        except Exception:
            data = {}
        if isinstance(data, tuple):
            data = data[0]
        data = dict(data or {})
        data["text/plain"] = self.plain_text()
        return data


def show(widget: Any, text: str) -> None:
    """Display a widget in a frontend, else print its text."""
    try:
        if widget is not None and widget_frontend():
            from IPython.display import display

            display(widget)
        else:
            print(text)
    except Exception:
        log.debug("display failed", exc_info=True)
        print(text)
