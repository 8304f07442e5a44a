"""The room's HTML pages (dashboard, séance projection), each with the one long-poll script put in."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
#: Pause after a failed request from a page, before it asks again.
PAGE_RETRY_MS = 2000
MARKER = "/*__LONG_POLL__*/"


def page(name: str) -> str:
    """`hub/<name>` with `hub/long_poll.js` where it says `/*__LONG_POLL__*/` (`__XSRF__` stays for the handler)."""
    script = (HERE / "long_poll.js").read_text(encoding="utf-8")
    script = script.replace("__RETRY_MS__", str(PAGE_RETRY_MS))
    text = (HERE / name).read_text(encoding="utf-8")
    if MARKER not in text:
        raise ValueError(f"{name} has no {MARKER}")
    return text.replace(MARKER, script)
