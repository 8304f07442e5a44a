"""The LRS gate: Ralph behind a door that checks who is speaking (a hub service, `/services/lrs/`).

Ralph authenticates clients but does not check that a statement's actor is
the one who sent it, and its `RESTRICT_BY_AUTHORITY` would only show a
client what that client wrote. The gate enforces the room's rule instead:

- a learner (credentials from `incubo.hub.lrs_keys`) may write only
  statements whose actor is `account {homePage: <hub URL>, name: <own hub
  name>}`, never a grade nor a claimed authority (`incubo.hub.lrs_rules`):
  anything else gets HTTP 403 and nothing is stored;
- the gate sets every statement's `authority` itself: the learner's, or the
  room's grader's for `incubo grade autograde` (`incubo.authority`), so a
  reader tells a grade from a learner's claim;
- bodies over 1 MiB (413), requests of more than 1,000 statements (413) and
  a learner going faster than their rate (429 with `Retry-After`) are refused
  before anything is parsed or stored (`incubo.hub.lrs_limits`);
- a learner reading statements gets only their own (the `agent` filter is
  forced to them; a single statement fetched by id must be theirs);
- readers (`formateurs`, `recherche`) read everything and write nothing;
- a statement stamped while a séance is open (its `timestamp` within the
  séance's window, `incubo.seance.registration_at`) gets the séance as
  `context.registration`, so research can select one session; a registration
  it already carried (a cohort's) moves to the `registration-cohorte` context
  extension. Statements stamped outside every séance go through unchanged;
- `rgpd`: each learner reads the notice and records their own acknowledgement and
  research choice in the RGPD store, and reads back their own rows of it, never anyone
  else's (`incubo.hub.lrs_gate_rgpd`).

Ralph stays the store: statement ids (UUIDs) are never changed, so a spool's
retry is deduplicated by Ralph itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tornado import httpclient, web
from tornado.httpserver import HTTPServer
from tornado.httputil import url_concat

from incubo import lrs, xapi
from incubo.events import FINAL_REFUSAL_HEADER
from incubo.hub.lrs_keys import WAKE_HEADER, Caller, identify, wake_token
from incubo.hub.lrs_limits import Limits, RateLimiter
from incubo.hub.lrs_rules import (
    Refusal,
    actor_is,
    grader_refusal,
    learner_refusal,
    own_agent,
    set_authority,
)

__all__ = ["Gate", "actor_is", "make_app", "own_agent"]

log = logging.getLogger(__name__)

XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}
FORWARD_TIMEOUT = 20.0
TOO_BIG = (
    "Refusé : la requête dépasse {taille}. Envoyez les déclarations en plusieurs fois "
    "(la file d'attente du notebook le fait d'elle-même)."
)
TOO_FAST = (
    "Trop de requêtes en peu de temps vers le LRS de la salle : réessayez dans {n} s "
    "(les déclarations d'un notebook restent en attente et partent d'elles-mêmes)."
)


#: Context extension that keeps a registration a séance's replaced (a cohort's, usually).
COHORT_EXTENSION = "registration-cohorte"


def stamped_at(stmt: dict[str, Any]) -> datetime:
    """When a statement says it happened (UTC when no offset is given); now when it says nothing.

    A statement without `timestamp` is stamped by the LRS when stored, i.e. now.
    """
    if "timestamp" not in stmt:
        return datetime.now(UTC)
    ts = xapi.timestamp_of(stmt)
    if ts is None:
        return datetime.now(UTC)
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def set_registration(stmt: dict[str, Any], registration: str) -> bool:
    """Give `stmt` the séance's registration; True when the statement changed.

    A different registration already there is kept under the `registration-cohorte` extension.
    """
    context = stmt.get("context")
    if not isinstance(context, dict):
        context = stmt["context"] = {}
    previous = context.get("registration")
    if previous == registration:
        return False
    if previous:
        extensions = context.get("extensions")
        if not isinstance(extensions, dict):
            extensions = context["extensions"] = {}
        extensions[xapi.extension(COHORT_EXTENSION)] = previous
    context["registration"] = registration
    return True


class Gate:
    """What the handlers share: the secret, where Ralph is, the hub's URL (actors' homePage)."""

    def __init__(
        self,
        secret: bytes,
        ralph_url: str,
        ralph_auth: str,
        homepage: str,
        prefix: str,
        wake_url: str = "",
        hub_dir: Path | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.rate = RateLimiter(self.limits)
        self.hub_dir = hub_dir  # where the séances are (None: no séance tagging)
        self.wake_url = wake_url
        self.wake_headers = {WAKE_HEADER: wake_token(secret)}
        self.secret = secret
        self.ralph_url = ralph_url.rstrip("/")
        self.ralph_header = lrs.basic_auth(ralph_auth)
        self.homepage = homepage
        self.prefix = prefix if prefix.endswith("/") else prefix + "/"
        self.client = httpclient.AsyncHTTPClient()

    def seance_registration(self, ts: datetime) -> str | None:
        """The registration of the séance open at `ts`, if any (a broken store never blocks a write)."""
        if self.hub_dir is None:
            return None
        from incubo import seance

        try:
            return seance.registration_at(self.hub_dir, ts)
        except Exception:  # noqa: BLE001 - the statement is stored untagged rather than lost
            log.exception("séance store unreadable: statement stored without a séance")
            return None

    def tag_seance(self, statements: list[dict[str, Any]]) -> bool:
        """Set the séance's registration on each statement stamped during one; True if any changed."""
        changed = False
        for stmt in statements:
            registration = self.seance_registration(stamped_at(stmt))
            if registration:
                changed = set_registration(stmt, registration) or changed
        return changed

    async def wake_dashboard(self) -> None:
        """Tell the room's dashboard that something was stored (it then reads the LRS at once)."""
        if not self.wake_url:
            return
        request = httpclient.HTTPRequest(
            self.wake_url, method="POST", body=b"", headers=self.wake_headers, request_timeout=5
        )
        try:
            await self.client.fetch(request, raise_error=False)
        except OSError:
            log.debug("dashboard not reachable for a wake-up")

    async def ralph(
        self, method: str, path: str, query: dict[str, str] | None = None, body: bytes | None = None
    ) -> httpclient.HTTPResponse:
        url = self.ralph_url + path
        if query:
            url = url_concat(url, query)
        headers = dict(XAPI_HEADERS, Authorization=self.ralph_header)
        if body is not None:
            headers["Content-Type"] = "application/json"
        request = httpclient.HTTPRequest(
            url, method=method, headers=headers, body=body, request_timeout=FORWARD_TIMEOUT
        )
        try:
            return await self.client.fetch(request, raise_error=False)
        except OSError as err:  # Ralph not listening (starting, restarting): the caller sees a 503
            return httpclient.HTTPResponse(request, 599, error=err)


class BaseHandler(web.RequestHandler):
    gate: Gate

    def initialize(self, gate: Gate) -> None:
        self.gate = gate

    def check_xsrf_cookie(self) -> None:  # an API reached with Basic auth, never with cookies
        return

    def refuse(self, status: int, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"detail": message}, ensure_ascii=False))

    def relay(self, response: httpclient.HTTPResponse, body: bytes | None = None) -> None:
        if response.code == 599:  # Ralph unreachable: a temporary error the spool retries
            self.refuse(
                503, "Le LRS est momentanément injoignable ; vos déclarations restent en attente."
            )
            return
        self.set_status(response.code)
        for name in (
            "Content-Type",
            "X-Experience-API-Consistent-Through",
            "Last-Modified",
            "ETag",
        ):
            if name in response.headers:
                self.set_header(name, response.headers[name])
        self.set_header("X-Experience-API-Version", "1.0.3")
        payload = response.body if body is None else body
        if payload and response.code not in (204, 304):
            self.write(payload)
        self.finish()


class RootHandler(BaseHandler):
    """What the hub's health check (and a curious visitor) sees at the service's root."""

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish("LRS de la salle (xAPI 1.0.3) : /services/lrs/xAPI/statements\n")


class HeartbeatHandler(BaseHandler):
    async def get(self) -> None:
        self.relay(await self.gate.ralph("GET", "/__heartbeat__"))


@web.stream_request_body
class StatementsHandler(BaseHandler):
    """`/xAPI/statements`: the body is read in chunks, kept only up to the limit.

    Every early refusal (credentials, rate, size) is decided when the headers
    arrive but answered once the body is read: a client still sending would
    otherwise see its connection reset instead of the French sentence.
    """

    def prepare(self) -> None:
        limits = self.gate.limits
        self._held: tuple[int, str, dict[str, str]] | None = None
        self._chunks: list[bytes] = []
        self._size = 0
        connection = self.request.connection
        settable = hasattr(connection, "set_max_body_size")
        if settable:  # past the size set here, tornado answers 400 and closes the connection
            connection.set_max_body_size(limits.max_body)
            connection.set_body_timeout(60.0)
        self.who: Caller | None = identify(
            self.gate.secret, self.request.headers.get("Authorization")
        )
        if self.who is None:
            self._hold(
                401,
                "Identifiants absents ou refusés par le LRS de la salle.",
                {"WWW-Authenticate": 'Basic realm="LRS de la salle"'},
            )
            return
        if not self.who.reader:
            wait = self.gate.rate.request(self.who.name)
            if wait:  # (not logged: a flood of these would fill the log)
                self._hold(429, TOO_FAST.format(n=wait), {"Retry-After": str(wait)})
                return
        if settable:  # a known caller within their rate: a longer body is read on to answer 413
            connection.set_max_body_size(limits.drain_cap)
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > limits.max_body:
            self._too_big()

    def _hold(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        if self._held is None:
            self._held = (status, message, headers or {})
            self._chunks = []

    def _too_big(self) -> None:
        log.warning("refused a body over %d bytes from %s", self.gate.limits.max_body, self.who)
        size = self.gate.limits.max_body
        taille = f"{size // 2**20} Mio" if size % 2**20 == 0 else f"{size} octets"
        self._hold(413, TOO_BIG.format(taille=taille), {FINAL_REFUSAL_HEADER: "taille"})

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._held is not None:
            return  # read to the end only to answer cleanly; never kept
        if self._size > self.gate.limits.max_body:
            self._too_big()
            return
        self._chunks.append(chunk)

    def _answered(self) -> bool:
        """Send the refusal decided earlier, if any."""
        if self._held is None:
            return False
        status, message, headers = self._held
        for name, value in headers.items():
            self.set_header(name, value)
        self.refuse(status, message)
        return True

    async def post(self) -> None:
        await self._write("POST")

    async def put(self) -> None:
        await self._write("PUT")

    def _refuse_with(self, refusal: Refusal, count: int) -> None:
        who = self.who
        log.warning("refused %d statement(s) from %s: %s", count, who.name, refusal.reason)
        self.set_header(FINAL_REFUSAL_HEADER, refusal.reason)  # the spool sets these aside
        self.refuse(refusal.status, refusal.message)

    async def _write(self, method: str) -> None:
        if self._answered():
            return
        who = self.who
        if who.reader and not who.grader:
            self.refuse(403, "Ce compte du LRS est en lecture seule.")
            return
        try:
            body = json.loads(b"".join(self._chunks) or b"null")
        except (ValueError, RecursionError):  # RecursionError: brackets nested 100,000 deep
            self.refuse(400, "Le corps de la requête n'est pas du JSON valide.")
            return
        statements = body if isinstance(body, list) else [body]
        limit = self.gate.limits.max_statements
        if len(statements) > limit:
            self.set_header(FINAL_REFUSAL_HEADER, "nombre")
            self.refuse(
                413,
                f"Refusé : {len(statements)} déclarations dans une seule requête, "
                f"au plus {limit} : envoyez-les en plusieurs fois.",
            )
            return
        homepage = self.gate.homepage
        if who.grader:
            refusal = grader_refusal(statements, homepage)
        else:
            refusal = (
                learner_refusal(statements, homepage, who.name)
                if statements
                else Refusal(400, "Aucune déclaration dans la requête.", "vide")
            )
        if refusal is not None:
            self._refuse_with(refusal, len(statements))
            return
        if not who.grader:
            wait = self.gate.rate.statements(who.name, len(statements))
            if wait:
                self.set_header("Retry-After", str(wait))
                self.refuse(429, TOO_FAST.format(n=wait))
                return
        set_authority(statements, homepage, None if who.grader else who.name)
        self.gate.tag_seance(statements)  # same ids: Ralph still deduplicates a retry
        # what was checked is what is stored: never the bytes as sent
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        query = {k: self.get_argument(k) for k in self.request.arguments}
        response = await self.gate.ralph(method, "/xAPI/statements/", query, payload)
        self.relay(response)
        if response.code in (200, 204):
            asyncio.ensure_future(self.gate.wake_dashboard())

    async def get(self) -> None:
        if self._answered():
            return
        who = self.who
        query = {k: self.get_argument(k) for k in self.request.arguments}
        if who.reader:
            self.relay(
                *self._rewrite_more(await self.gate.ralph("GET", "/xAPI/statements/", query))
            )
            return
        by_id = query.get("statementId") or query.get("voidedStatementId")
        if by_id:
            response = await self.gate.ralph("GET", "/xAPI/statements/", query)
            if response.code == 200:
                try:
                    found = json.loads(response.body)
                except ValueError:
                    found = None
                # Ralph answers {"statements": [...]} even for one id
                found = found.get("statements", [found]) if isinstance(found, dict) else [found]
                if not found or not all(actor_is(f, self.gate.homepage, who.name) for f in found):
                    self.refuse(404, "Aucune déclaration de ce numéro parmi les vôtres.")
                    return
            self.relay(response)
            return
        mine = own_agent(self.gate.homepage, who.name)
        if "agent" in query:
            try:
                asked = json.loads(query["agent"])
            except ValueError:
                asked = None
            if not actor_is({"actor": asked}, self.gate.homepage, who.name):
                self.refuse(403, "Vous ne pouvez lire que vos propres déclarations.")
                return
        query.pop("related_agents", None)  # only statements whose actor is the learner
        query["agent"] = json.dumps(mine, separators=(",", ":"))
        self.relay(*self._rewrite_more(await self.gate.ralph("GET", "/xAPI/statements/", query)))

    def _rewrite_more(
        self, response: httpclient.HTTPResponse
    ) -> tuple[httpclient.HTTPResponse, bytes | None]:
        """Ralph's `more` link points at its own path: make it point at the gate's."""
        if response.code != 200:
            return response, None
        try:
            body = json.loads(response.body)
        except ValueError:
            return response, None
        more = body.get("more") if isinstance(body, dict) else None
        if not more:
            return response, None
        parsed = urlparse(more)
        body["more"] = (
            self.gate.prefix + "xAPI/statements/" + ("?" + parsed.query if parsed.query else "")
        )
        return response, json.dumps(body, ensure_ascii=False).encode()


def make_app(gate: Gate) -> web.Application:
    from incubo.hub import lrs_gate_rgpd

    p = gate.prefix
    return web.Application(
        [
            (p + r"xAPI/statements/?", StatementsHandler, {"gate": gate}),
            *lrs_gate_rgpd.handlers(p, gate),
            (p + r"__heartbeat__/?", HeartbeatHandler, {"gate": gate}),
            (p + r"?", RootHandler, {"gate": gate}),
        ]
    )


def listen(gate: Gate, port: int, host: str) -> HTTPServer:
    """Serve the gate: bodies beyond `max_body` are never read whole (only `/xAPI/statements`
    reads on, up to `drain_cap`, to answer 413); slow or idle connections are closed."""
    return make_app(gate).listen(
        port,
        host,
        xheaders=True,
        max_body_size=gate.limits.max_body,
        body_timeout=60.0,
        idle_connection_timeout=120.0,
    )


def main() -> None:
    """Entry point of the `lrs` hub service (`python -m incubo.hub.lrs_gate`)."""
    from incubo.config import service_settings
    from incubo.hub import lrs_keys, service_loop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    s = service_settings()

    async def serve() -> None:
        gate = Gate(
            lrs_keys.gate_secret(s.hub_dir),
            s.ralph_url,
            s.ralph_auth or f"passerelle:{lrs_keys.ralph_password(s.hub_dir)}",
            s.homepage,
            s.prefix,
            s.wake_url,
            s.hub_dir,
        )
        bind = urlparse(s.bind_url)
        listen(gate, bind.port or 80, bind.hostname or "127.0.0.1")
        log.info("LRS gate on %s, Ralph at %s", s.bind_url, s.ralph_url)
        await asyncio.Event().wait()

    service_loop.run(serve)


if __name__ == "__main__":
    main()
