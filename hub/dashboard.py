"""The room's dashboard as a hub service (`/services/tableau-de-bord/`), for trainers only.

Access is JupyterHub's: the hub grants `access:services!service=tableau-de-bord`
to the trainers' group (`incubo.hub.services`), OAuth does the rest, and a
learner gets 403. The service reads the LRS through the gate with the
trainers' read-only credentials, every `INCUBO_DASHBOARD_POLL` seconds
(1 s by default), keeps the statements in memory by id and recomputes the
view only when something new arrived; the page asks for that view every
1.5 s, so a learner's « Vérifier » shows in about three seconds, without
reloading, and thirty browsers cost the LRS nothing more.

The séance (`incubo.hub.seance_service`) lives in the same process: its
views are recomputed with the room's, from the same statements.

« État de la salle », the page's corner: `incubo.hub.health.room_state` (what
`incubo hub etat` prints), read every `ROOM_STATE_SECONDS` in a thread with
the service's own hub token, and sent with the view as `salle`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from jupyterhub.services.auth import HubOAuthCallbackHandler, HubOAuthenticated
from tornado import web

from incubo import lrs, xapi
from incubo.hub import pages, room_view
from incubo.hub.lrs_keys import WAKE_HEADER

if TYPE_CHECKING:
    from incubo.hub.seance_service import Seances

log = logging.getLogger(__name__)

#: The page asks again at once after each answer; an answer waits at most this long for news.
LONG_POLL_SECONDS = 20.0
#: Reading Ralph's file backend costs about 0.1–0.2 s of CPU for a session's statements: at most one read a second.
MIN_READ_INTERVAL = 1.0
#: Statements may reach the LRS late (a spool delivering after an outage): re-read this far back.
LATE_MARGIN = timedelta(minutes=10)
FULL_RESYNC_SECONDS = 60.0
PAGE_SIZE = 1000
#: The room's state (hub, services, memory per learner, disk) is read at most this often…
ROOM_STATE_SECONDS = 5.0
#: … and only while a page asked for the view in the last this many seconds.
ROOM_STATE_IDLE = 2 * LONG_POLL_SECONDS


class LrsReader:
    """Reads the room's statements through the gate, incrementally, and keeps them by id."""

    def __init__(self, url: str, auth: str) -> None:
        self.url = lrs.statements_endpoint(url)
        self.auth = auth
        self.statements: dict[str, dict[str, Any]] = {}
        self.latest: datetime | None = None
        self.last_full = 0.0

    async def update(self) -> int:
        """Fetch what is new; returns how many statements were added or dropped.

        A full read (the first, then every minute) is the LRS's whole content: what it no longer
        holds (an agent's data erased, `incubo rgpd effacer`) leaves the view too.
        """
        full = self.latest is None or time.monotonic() - self.last_full > FULL_RESYNC_SECONDS
        since = None if full or self.latest is None else self.latest - LATE_MARGIN
        if since is None:
            self.last_full = time.monotonic()
        found = await lrs.read_statements_async(
            self.url, auth=self.auth, since=since, limit=PAGE_SIZE, retries=0
        )
        new = 0
        if since is None:
            gone = set(self.statements) - {stmt.get("id") for stmt in found}
            for sid in gone:
                del self.statements[sid]
            new += len(gone)
        for stmt in found:
            sid = stmt.get("id")
            if sid and sid not in self.statements:
                self.statements[sid] = stmt
                new += 1
                t = xapi.timestamp_of(stmt)
                if t is not None and (self.latest is None or t > self.latest):
                    self.latest = t
        return new


class Room:
    """The current view, refreshed by a background loop; woken at once by the gate."""

    def __init__(
        self,
        reader: LrsReader,
        course_dir: Path | None,
        poll: float,
        seances: Seances | None = None,
    ) -> None:
        self.reader = reader
        self.seances = seances
        self.course_dir = course_dir
        self.poll = poll
        self.view: dict[str, Any] = room_view.room_view([], room_view.course_modules(course_dir))
        self.version = 0
        self.error: str | None = None
        self.refreshes = 0
        self.reads = 0
        self.compute_seconds = 0.0
        self.wake = asyncio.Event()
        self._changed = asyncio.Event()
        #: The « État de la salle » corner: `incubo.hub.health.room_state`, or None before the first read.
        self.salle: dict[str, Any] | None = None
        self.salle_wanted = -ROOM_STATE_IDLE  # when a page last asked (monotonic)
        self._salle_asked = asyncio.Event()

    def want_room_state(self) -> None:
        """A page is open: keep the corner fresh (nobody looking, nothing is read)."""
        idle = time.monotonic() - self.salle_wanted > ROOM_STATE_IDLE
        self.salle_wanted = time.monotonic()
        if idle:
            self._salle_asked.set()

    async def watch_room_state(self, read, interval: float = ROOM_STATE_SECONDS) -> None:
        """Read the room's state (blocking `read()`, in a thread) every `interval` s while a page asks."""
        while True:
            if time.monotonic() - self.salle_wanted > ROOM_STATE_IDLE:
                self._salle_asked.clear()
                await self._salle_asked.wait()
            try:
                self.salle = await asyncio.to_thread(read)
                self.publish()  # waiting pages get the new figures at once
            except Exception:  # the corner must never take the dashboard down
                log.exception("room state not read")
            await asyncio.sleep(interval)

    def recompute(self) -> None:
        t0 = time.process_time()
        modules = room_view.course_modules(self.course_dir)
        statements = list(self.reader.statements.values())
        self.view = room_view.room_view(statements, modules, now=datetime.now(UTC))
        if self.seances is not None:
            try:
                self.seances.recompute(statements)
            except Exception:  # a séance's view must never take the room's dashboard down
                log.exception("séance view not computed")
        self.compute_seconds += time.process_time() - t0
        self.refreshes += 1
        self.publish()

    def publish(self) -> None:
        """A new version of what the page shows: wake the pages waiting for one."""
        self.version += 1
        self._changed.set()
        self._changed = asyncio.Event()

    async def changed_since(self, version: int, timeout: float) -> None:
        """Wait (long poll) until the view is newer than `version`, or `timeout` seconds."""
        if version != self.version:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), timeout)

    async def loop(self) -> None:
        last_compute = 0.0
        while True:
            self.wake.clear()
            read_started = time.monotonic()
            try:
                new = await self.reader.update()
                self.reads += 1
                was_error, self.error = self.error, None
                if (
                    new or was_error or time.monotonic() - last_compute > 5
                ):  # « il y a … » keeps moving
                    self.recompute()
                    last_compute = time.monotonic()
            except Exception as err:  # the LRS away for a moment: keep the last view, say so
                if self.error is None:
                    self.error = "Le LRS ne répond pas : les données affichées peuvent dater."
                    self.recompute()
                log.warning("dashboard could not read the LRS: %s", err)
            with contextlib.suppress(TimeoutError):  # the gate wakes us when a statement arrives
                await asyncio.wait_for(self.wake.wait(), self.poll)
            # a busy room wakes us all the time: at most one read of the LRS per MIN_READ_INTERVAL
            await asyncio.sleep(max(0.0, MIN_READ_INTERVAL - (time.monotonic() - read_started)))


class PageHandler(HubOAuthenticated, web.RequestHandler):
    def initialize(self, page: str) -> None:
        self.page = page

    @web.authenticated
    def get(self) -> None:
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        )
        self.finish(self.page.replace("__XSRF__", self.xsrf_token.decode()))


class DataHandler(HubOAuthenticated, web.RequestHandler):
    """The view as JSON; `?depuis=N` waits until there is something newer than version N."""

    def initialize(self, room: Room) -> None:
        self.room = room

    @web.authenticated
    async def get(self) -> None:
        try:
            since = int(self.get_argument("depuis", "-1"))
        except ValueError:
            since = -1
        self.room.want_room_state()
        await self.room.changed_since(since, LONG_POLL_SECONDS)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        view = dict(self.room.view, erreur=self.room.error, version=self.room.version)
        view["seance"] = self.room.seances.current if self.room.seances is not None else None
        view["salle"] = self.room.salle
        self.finish(json.dumps(view, ensure_ascii=False))


class WakeHandler(web.RequestHandler):
    """The gate says « a statement was just stored »: read the LRS now (no OAuth: a shared token);
    `incubo rgpd effacer` says « read it all again » (`?complet=1`)."""

    def initialize(self, room: Room, token: str) -> None:
        self.room = room
        self.token = token

    def check_xsrf_cookie(self) -> None:  # called by the gate, never by a browser
        return

    def post(self) -> None:
        if not hmac.compare_digest(self.request.headers.get(WAKE_HEADER, ""), self.token):
            raise web.HTTPError(403)
        if self.get_argument("complet", ""):  # an erasure: re-read all, drop what the LRS lost
            self.room.reader.last_full = float("-inf")
        self.room.wake.set()
        self.set_status(204)


class StatsHandler(HubOAuthenticated, web.RequestHandler):
    """CPU spent computing the view (for `benchmarks/dashboard.py`)."""

    def initialize(self, room: Room) -> None:
        self.room = room

    @web.authenticated
    def get(self) -> None:
        self.finish(
            {
                "calculs": self.room.refreshes,
                "lectures": self.room.reads,
                "secondes_cpu": self.room.compute_seconds,
                "pid": os.getpid(),
            }
        )


def make_app(
    room: Room,
    prefix: str,
    wake_token: str,
    *,
    gate_secret: bytes | None = None,
    course_id: str = "incubo",
) -> web.Application:
    # the header links to the course's « Devoirs » (incubo.hub.devoirs, in the formgrader service)
    page = pages.page("dashboard.html").replace("__COURS__", course_id)
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    handlers: list[tuple] = [
        (prefix, PageHandler, {"page": page}),
        (prefix + "donnees", DataHandler, {"room": room}),
        (prefix + "statistiques", StatsHandler, {"room": room}),
        (prefix + "reveil", WakeHandler, {"room": room, "token": wake_token}),
        (prefix + "oauth_callback", HubOAuthCallbackHandler),
    ]
    if room.seances is not None and gate_secret is not None:
        from incubo.hub import seance_service

        handlers += seance_service.routes(prefix, room, room.seances, gate_secret)
    return web.Application(handlers, cookie_secret=os.urandom(32))


def main() -> None:
    """Entry point of the `tableau-de-bord` hub service (`python -m incubo.hub.dashboard`)."""
    from incubo.config import hub_settings, service_settings
    from incubo.hub import health, lrs_keys, seance_service, service_loop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    s = service_settings()

    async def serve() -> None:
        settings = hub_settings(hub_dir=s.hub_dir, course_dir=s.course_dir)
        seances = seance_service.Seances(settings)
        room = Room(LrsReader(s.lrs_url, s.lrs_auth), s.course_dir, s.poll_seconds, seances)
        bind = urlparse(s.bind_url)
        secret = lrs_keys.gate_secret(s.hub_dir)
        app = make_app(
            room,
            s.prefix,
            lrs_keys.wake_token(secret),
            gate_secret=secret,
            course_id=settings.course_id,
        )
        app.listen(bind.port or 80, bind.hostname or "127.0.0.1", xheaders=True)
        log.info("room dashboard on %s", s.bind_url)
        watcher = asyncio.ensure_future(seance_service.watch(room, seances))
        token, api_url = (
            os.environ.get("JUPYTERHUB_API_TOKEN"),
            os.environ.get("JUPYTERHUB_API_URL"),
        )
        corner = asyncio.ensure_future(
            room.watch_room_state(lambda: health.room_state(settings, token=token, api_url=api_url))
        )
        try:
            await room.loop()
        finally:
            watcher.cancel()
            corner.cancel()

    service_loop.run(serve)


if __name__ == "__main__":
    main()
