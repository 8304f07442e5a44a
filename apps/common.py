"""What the four Voila apps share: page parts, a live status line, French errors instead of tracebacks.

A non-coder must never see Python: every callback goes through `guarded`,
which turns an `IncuboError` into its French sentence and any other
exception into a generic French sentence, while the traceback goes to the
kernel log (Voila's server log).
"""

from __future__ import annotations

import functools
import html
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from incubo.config import settings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

GENERIC_ERROR = "Un problème inattendu est survenu. Réessayez ; s'il se reproduit, prévenez votre formateur ou votre formatrice."

CSS = """
<style>
.incubo-app { font-family: system-ui, sans-serif; font-size: 16px; color: #161616; line-height: 1.5; }
.incubo-app h1 { font-size: 1.8rem; margin: 0.2em 0 0.3em; }
.incubo-app h2 { font-size: 1.3rem; margin: 1em 0 0.3em; }
.incubo-app p { margin: 0.3em 0; }
.incubo-status { min-height: 1.5em; }
.incubo-status .ok { color: #18753c; }
.incubo-status .erreur { color: #ce0500; font-weight: 600; }
.incubo-app table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.95rem; }
.incubo-app caption { text-align: left; font-weight: 600; padding: 0.2em 0; }
.incubo-app th, .incubo-app td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
.incubo-app th { background: #f0f0f8; }
.incubo-app td.nombre { text-align: right; font-variant-numeric: tabular-nums; }
.incubo-app .widget-label { color: #161616; }
.incubo-app a.incubo-lien { display: inline-block; padding: 0.4em 0.8em; margin: 0.2em 0.4em 0.2em 0;
  background: #000091; color: #fff; text-decoration: none; border-radius: 0.25em; }
.incubo-app a.incubo-lien:focus, .incubo-app button:focus, .incubo-app input:focus, .incubo-app select:focus {
  outline: 3px solid #0a76f6; outline-offset: 2px; }
.incubo-app .jupyter-button.mod-primary { background: #000091; color: #fff; }
.incubo-bloque { border-left: 0.3rem solid #ce0500; padding-left: 0.6em; }
.incubo-carte { border: 1px solid #ddd; border-radius: 0.3em; padding: 0.6em 1em; margin: 0.5em 0; }
</style>
"""


def header(title: str, intro: str = "") -> w.HTML:
    """The page title (the one `h1`) and one sentence saying what the app is for."""
    text = f"{CSS}<h1>{html.escape(title)}</h1>"
    if intro:
        text += f"<p>{html.escape(intro)}</p>"
    return w.HTML(text)


def section(title: str) -> w.HTML:
    return w.HTML(f"<h2>{html.escape(title)}</h2>")


class Status:
    """A live region (read out by screen readers) for what just happened."""

    def __init__(self) -> None:
        self.widget = w.HTML(value="", layout=w.Layout(min_height="1.5em"))
        self.widget.add_class("incubo-status")

    def _set(self, cls: str, message: str) -> None:
        role = "alert" if cls == "erreur" else "status"
        self.widget.value = f'<div role="{role}" aria-live="polite"><p class="{cls}">{html.escape(message)}</p></div>'

    def info(self, message: str) -> None:
        self._set("info", message)

    def ok(self, message: str) -> None:
        self._set("ok", message)

    def error(self, message: str) -> None:
        self._set("erreur", message)

    def clear(self) -> None:
        self.widget.value = ""


def guarded(status: Status) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a widget callback so users see a French sentence, never a traceback."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except IncuboError as exc:
                log.info("user error in %s: %s", func.__name__, exc.message)
                status.error(exc.message)
            except Exception:
                log.exception("unexpected error in %s", func.__name__)
                status.error(GENERIC_ERROR)
            return None

        return wrapper

    return decorate


_current: dict[str, Any] = {}


def show(build: Callable[[], Any]) -> None:
    """Build an app (an object with a `.widget`) and display it; if building fails, a French sentence instead."""
    from IPython.display import HTML, display

    _quiet_logging()
    try:
        app = build()
        _current["app"] = app
        app.widget.add_class("incubo-app")
        display(app.widget)
        log.info("app ready: %s", type(app).__name__)  # benchmarks/voila.py waits for this line
    except IncuboError as exc:
        display(
            HTML(
                f'{CSS}<div class="incubo-app" role="alert"><p>{html.escape(exc.message)}</p></div>'
            )
        )
    except Exception:
        log.exception("app failed to start")
        display(
            HTML(
                f'{CSS}<div class="incubo-app" role="alert"><p>{html.escape(GENERIC_ERROR)}</p></div>'
            )
        )


def visit() -> None:
    """Second cell of the apps whose content must be fresh when someone opens the page.

    With pre-heated kernels, Voila runs the first cell long before anyone
    visits; this cell waits for the visit (Voila's `wait_for_request`, a
    no-op without preheating), then asks the app to refresh itself.
    """
    if os.environ.get("VOILA_PREHEAT") == "True":
        try:
            from voila.utils import wait_for_request

            log.info("pre-heated: waiting for a visit")
            wait_for_request()
            log.info("pre-heated: visited")
        except Exception:
            log.exception("waiting for the visit failed")
    app = _current.get("app")
    if app is not None and hasattr(app, "on_visit"):
        try:
            app.on_visit()
        except IncuboError as exc:
            if hasattr(app, "status"):
                app.status.error(exc.message)
        except Exception:
            log.exception("refresh on visit failed")
            if hasattr(app, "status"):
                app.status.error(GENERIC_ERROR)


def _quiet_logging() -> None:
    """Tracebacks go to the kernel's stderr (Voila's log), never into the page."""
    root = logging.getLogger("incubo")
    if not any(getattr(h, "_incubo", False) for h in root.handlers):
        import sys

        handler = logging.StreamHandler(sys.__stderr__)
        handler._incubo = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        root.propagate = False


def table_html(
    rows: list[list[str]], columns: list[str], caption: str, numeric: set[int] | None = None
) -> str:
    """An accessible HTML table (caption, header cells with scope)."""
    numeric = numeric or set()
    head = "".join(f'<th scope="col">{html.escape(str(c))}</th>' for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="nombre">{html.escape(v)}</td>'
            if i in numeric
            else f"<td>{html.escape(v)}</td>"
            for i, v in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def home() -> Path:
    """The user's home: where per-user app state (quiz streak) lives."""
    return Path(os.environ.get("HOME") or Path.home())


def course_dir() -> Path | None:
    """The course directory `incubo apps` gave the kernel (`INCUBO_COURSE_DIR`)."""
    return settings().course_dir


def courses_dir() -> Path | None:
    """Course sources (for quiz banks): `INCUBO_COURSES_DIR`, else `./courses` if present."""
    value = settings().courses_dir
    if value:
        return value
    here = Path.cwd() / "courses"
    return here if here.is_dir() else None
