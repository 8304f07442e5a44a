"""In a learner's running server: a module released meanwhile reaches their home within seconds.

At login, `incubo.hub.learner_fetch` copies every released module missing from the learner's
home. A room pre-warmed at 8:30 (`incubo hub prechauffer`) and released to at 9:00 would
otherwise leave everyone on an empty folder until their server restarts. This watcher runs in
the learner's own server (so as the learner, never as root), looks at the released modules
through the learner's exchange view every `EVERY` seconds (one directory listing), and fetches
each module that appears, the same way as at login.

Only modules released after the server started are fetched: one the learner deleted from their
home is not brought back under their eyes (the next login does, as it always did).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from incubo.exchange import VIEW_DIR, ExchangeLayout
from incubo.hub.learner_fetch import fetch_released

log = logging.getLogger(__name__)

#: Seconds between two looks at the released modules.
EVERY = 2.0


class ReleaseWatch:
    """Fetch the modules released since it started into `home/<course>/`."""

    def __init__(self, home: Path, course: str) -> None:
        # the learner's view: `<view>/<course>/outbound` links to the exchange's released modules
        self.layout = ExchangeLayout(home / VIEW_DIR, course)
        self.home = home
        self.known = set(self._released())

    def _released(self) -> list[str]:
        try:
            return self.layout.released()
        except OSError:  # no exchange view yet, or the exchange is being repaired
            return []

    def tick(self) -> list[str]:
        """One look; the modules fetched now."""
        new = set(self._released()) - self.known
        if not new:
            return []
        try:
            fetched = fetch_released(self.home, self.layout, only=new, mark=self.layout.inbound)
        except OSError as exc:
            log.warning("released modules not fetched yet (%s): next try in %.0f s", exc, EVERY)
            return []
        self.known |= new
        if fetched:
            log.info("released modules fetched into the home: %s", ", ".join(sorted(fetched)))
        return fetched


def start(serverapp: Any, home: Path, course: str) -> None:
    """Start watching in the server's event loop (from the server extension's loading)."""
    from tornado.ioloop import PeriodicCallback

    watch = ReleaseWatch(home, course)
    callback = PeriodicCallback(watch.tick, EVERY * 1000)
    serverapp.io_loop.add_callback(callback.start)
    serverapp.log.info("released modules watched in %s", watch.layout.outbound)
