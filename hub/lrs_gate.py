"""The LRS gate: Ralph behind a door that checks who is speaking (a hub service, `/services/lrs/`).

Ralph authenticates clients but does not check that a statement's actor is
the one who sent it, and its `RESTRICT_BY_AUTHORITY` would only show a
client what that client wrote. The gate enforces the room's rule instead:

- a learner (credentials from `incubo.hub.lrs_keys`) may write only
  statements whose actor is `account {homePage: <hub URL>, name: <own hub
  name>}`: anything else gets HTTP 403 and nothing is stored;
- a learner reading statements gets only their own (the `agent` filter is
  forced to them; a single statement fetched by id must be theirs);
- readers (`formateurs`, `recherche`) read everything and write nothing;
- a statement stamped while a séance is open (its `timestamp` within the
  séance's window, `incubo.seance.registration_at`) gets the séance as
  `context.registration`, so research can select one session; a registration
  it already carried (a cohort's) moves to the `registration-cohorte` context
  extension. Statements stamped outside every séance go through unchanged.

Ralph stays the store: statement ids (UUIDs) are never changed, so a spool's
retry is deduplicated by Ralph itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tornado import httpclient, web
from tornado.httputil import url_concat

from incubo import xapi
from incubo.events import FINAL_REFUSAL_HEADER
from incubo.hub.lrs_keys import Caller, identify, wake_token

log = logging.getLogger(__name__)

XAPI_HEADERS = {"X-Experience-API-Version": "1.0.3"}
WAKE_HEADER = "X-Incubo-Reveil"
FORWARD_TIMEOUT = 20.0


def own_agent(homepage: str, name: str) -> dict[str, Any]:
    """The actor every statement of learner `name` must carry."""
    return {"objectType": "Agent", "account": {"homePage": homepage, "name": name}}


def actor_is(stmt: Any, homepage: str, name: str) -> bool:
    """Whether `stmt`'s actor is exactly learner `name` of this hub (no mbox, no group, no other home)."""
    if not isinstance(stmt, dict):
        return False
    actor = stmt.get("actor")
    if not isinstance(actor, dict) or actor.get("objectType", "Agent") != "Agent":
        return False
    if any(k in actor for k in ("mbox", "mbox_sha1sum", "openid", "member")):
        return False
    account = actor.get("account")
    return (
        isinstance(account, dict)
        and account.get("name") == name
        and str(account.get("homePage", "")).rstrip("/") == homepage.rstrip("/")
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
    ) -> None:
        self.hub_dir = hub_dir  # where the séances are (None: no séance tagging)
        self.wake_url = wake_url
        self.wake_headers = {WAKE_HEADER: wake_token(secret)}
        self.secret = secret
        self.ralph_url = ralph_url.rstrip("/")
        self.ralph_header = "Basic " + base64.b64encode(ralph_auth.encode()).decode()
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

    def caller(self) -> Caller | None:
        found = identify(self.gate.secret, self.request.headers.get("Authorization"))
        if found is None:
            self.set_header("WWW-Authenticate", 'Basic realm="LRS de la salle"')
            self.refuse(401, "Identifiants absents ou refusés par le LRS de la salle.")
        return found

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


class StatementsHandler(BaseHandler):
    async def post(self) -> None:
        await self._write("POST")

    async def put(self) -> None:
        await self._write("PUT")

    async def _write(self, method: str) -> None:
        who = self.caller()
        if who is None:
            return
        if who.reader:
            self.refuse(403, "Ce compte du LRS est en lecture seule.")
            return
        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            self.refuse(400, "Le corps de la requête n'est pas du JSON valide.")
            return
        statements = body if isinstance(body, list) else [body]
        if not statements or not all(actor_is(s, self.gate.homepage, who.name) for s in statements):
            log.warning(
                "refused %d statement(s) from %s: actor is someone else", len(statements), who.name
            )
            self.set_header(
                FINAL_REFUSAL_HEADER, "acteur"
            )  # the spool sets these aside, the rest flows
            self.refuse(
                403,
                "Refusé : une déclaration ne peut être enregistrée qu'au nom de la personne connectée.",
            )
            return
        query = {k: self.get_argument(k) for k in self.request.arguments}
        payload = self.request.body
        if self.gate.tag_seance(statements):  # same ids: Ralph still deduplicates a retry
            payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        response = await self.gate.ralph(method, "/xAPI/statements/", query, payload)
        self.relay(response)
        if response.code in (200, 204):
            asyncio.ensure_future(self.gate.wake_dashboard())

    async def get(self) -> None:
        who = self.caller()
        if who is None:
            return
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
    p = gate.prefix
    return web.Application(
        [
            (p + r"xAPI/statements/?", StatementsHandler, {"gate": gate}),
            (p + r"__heartbeat__/?", HeartbeatHandler, {"gate": gate}),
            (p + r"?", RootHandler, {"gate": gate}),
        ]
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
        make_app(gate).listen(bind.port or 80, bind.hostname or "127.0.0.1", xheaders=True)
        log.info("LRS gate on %s, Ralph at %s", s.bind_url, s.ralph_url)
        await asyncio.Event().wait()

    service_loop.run(serve)


if __name__ == "__main__":
    main()
