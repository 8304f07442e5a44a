"""The one LRS client: address, credentials, paging, `since`, retries — every reader goes through it.

An LRS URL may be given as the server (`http://lrs:8100`), its xAPI root
(`…/xAPI`) or its statements resource (`…/xAPI/statements`): every part
turns it into the same endpoint and sends the same headers (xAPI version,
HTTP Basic from `INCUBO_LRS_AUTH` or from the credentials a caller gives).

Reading follows the LRS's `more` links until the last page. Two flavours of
the same loop: `read_statements` (blocking, `requests`: the command line,
reports) and `read_statements_async` (Tornado's client: hub services, which
must not block their loop). A connection refused or a 502/503/504 is tried
again `retries` times, shortly (a timeout is not: the caller's timeout is
what it waits); a refusal (401/403) or another status is an `LrsError` at once, with its HTTP `status` so a caller can word it for
its own reader.
"""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urljoin

from incubo.config import Settings, settings
from incubo.errors import IncuboError
from incubo.xapi import XAPI_VERSION

log = logging.getLogger(__name__)

#: Statements per page asked of the LRS when the caller does not say.
PAGE_SIZE = 1000
#: Statuses worth trying again: the LRS (or the proxy before it) is restarting.
RETRY_STATUSES = (502, 503, 504)
#: Pause before the first retry; doubled at each next one.
RETRY_PAUSE = 0.25


class LrsError(IncuboError):
    """The LRS could not be read: `status` is its HTTP answer, None when it could not be reached."""

    def __init__(self, message: str, *, code: str, status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


def statements_endpoint(url: str) -> str:
    """The `…/xAPI/statements` resource of an LRS given by any of its usual addresses."""
    url = url.strip().rstrip("/")
    if url.endswith("/xAPI/statements") or url.endswith("/statements"):
        return url
    if url.endswith("/xAPI"):
        return url + "/statements"
    return url + "/xAPI/statements"


def configured_endpoint(config: Settings | None = None) -> str | None:
    """The statements endpoint of the configured LRS (`INCUBO_LRS_URL`), or None."""
    url = (config or settings()).lrs_url.strip()
    return statements_endpoint(url) if url else None


def basic_auth(credentials: str) -> str:
    """The `Authorization` value for `user:password` (HTTP Basic)."""
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def headers(
    config: Settings | None = None, *, json_body: bool = False, auth: str | None = None
) -> dict[str, str]:
    """What every request to the LRS carries: the xAPI version and Basic auth.

    `auth` (`user:password`) when given, else `INCUBO_LRS_AUTH` when configured.
    """
    if auth is None:
        auth = (config or settings()).lrs_auth
    out = {"X-Experience-API-Version": XAPI_VERSION}
    if json_body:
        out["Content-Type"] = "application/json"
    if auth:
        out["Authorization"] = basic_auth(auth)
    return out


def first_page(
    url: str,
    *,
    query: dict[str, str] | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
) -> str:
    """The address of the first page: the endpoint with `limit`, `since` and the caller's xAPI filters."""
    params = {"limit": str(limit or PAGE_SIZE), **(query or {})}
    if since is not None:
        params["since"] = since.isoformat() if isinstance(since, datetime) else str(since)
    return statements_endpoint(url) + "?" + urlencode(params)


def next_page(page_url: str, body: Any) -> str | None:
    """Where the `more` link of a page points (relative to the server, or absolute), or None at the end."""
    more = body.get("more") if isinstance(body, dict) else None
    return urljoin(page_url, more) if more else None


def _failure(url: str, status: int | None, detail: str = "") -> LrsError:
    if status is None:
        return LrsError(f"Le LRS {url} est injoignable ({detail}).", code="lrs-injoignable")
    if status in (401, 403):
        return LrsError(
            f"Le LRS {url} refuse l'accès : vérifiez INCUBO_LRS_AUTH (utilisateur:mot-de-passe).",
            code="lrs-acces",
            status=status,
        )
    return LrsError(f"Le LRS {url} a répondu {status}.", code="lrs-erreur", status=status)


def _statements(body: Any) -> list[dict[str, Any]]:
    found = body.get("statements") if isinstance(body, dict) else None
    return [s for s in found or [] if isinstance(s, dict)]


def iter_statements(
    url: str,
    *,
    auth: str | None = None,
    query: dict[str, str] | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
    pages: int | None = None,
    timeout: float = 30,
    retries: int = 2,
) -> Iterator[dict[str, Any]]:
    """Every statement the LRS at `url` gives these credentials, page after page (blocking).

    `auth`: `user:password`, `INCUBO_LRS_AUTH` when None. `query`: xAPI filters
    (`{"registration": …}`); `pages`: stop after this many pages.
    """
    import requests

    sent = headers(auth=auth)
    page: str | None = first_page(url, query=query, since=since, limit=limit)
    while page and pages != 0:
        for attempt in range(retries + 1):
            try:
                resp = requests.get(page, headers=sent, timeout=timeout)
            except requests.RequestException as exc:
                error = _failure(url, None, type(exc).__name__)
                if isinstance(exc, requests.Timeout) or not isinstance(
                    exc, requests.ConnectionError
                ):  # a slow LRS is not asked again: the caller's timeout is what it waits
                    raise error from None
            else:
                if resp.status_code == 200:
                    break
                error = _failure(url, resp.status_code)
                if resp.status_code not in RETRY_STATUSES:
                    raise error
            if attempt == retries:
                raise error from None
            time.sleep(RETRY_PAUSE * 2**attempt)
        body = resp.json()
        yield from _statements(body)
        page = next_page(page, body)
        pages = None if pages is None else pages - 1


def read_statements(url: str, **options: Any) -> list[dict[str, Any]]:
    """`iter_statements` as a list."""
    return list(iter_statements(url, **options))


async def read_statements_async(
    url: str,
    *,
    auth: str | None = None,
    authorization: str | None = None,
    query: dict[str, str] | None = None,
    since: datetime | str | None = None,
    limit: int | None = None,
    timeout: float = 20,
    retries: int = 1,
    on_page: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """`read_statements` for a Tornado process: the same loop, without blocking the event loop.

    `authorization`: an `Authorization` header passed on as it is (a service
    reading with the credentials its caller sent), instead of `auth`.
    """
    import asyncio

    from tornado import httpclient

    sent = headers(auth=auth)
    if authorization is not None:
        sent["Authorization"] = authorization
    client = httpclient.AsyncHTTPClient()
    found: list[dict[str, Any]] = []
    page: str | None = first_page(url, query=query, since=since, limit=limit)
    while page:
        for attempt in range(retries + 1):
            request = httpclient.HTTPRequest(page, headers=sent, request_timeout=timeout)
            try:
                response = await client.fetch(request, raise_error=False)
            except httpclient.HTTPClientError as exc:  # a timeout: not asked again
                raise _failure(url, None, type(exc).__name__) from None
            except OSError as exc:  # refused, reset: the LRS restarting
                error = _failure(url, None, type(exc).__name__)
            else:
                if response.code == 200:
                    break
                error = _failure(url, response.code)
                if response.code not in RETRY_STATUSES:
                    raise error
            if attempt == retries:
                raise error
            await asyncio.sleep(RETRY_PAUSE * 2**attempt)
        body = json.loads(response.body)
        statements = _statements(body)
        if on_page is not None:
            on_page(statements)
        found += statements
        page = next_page(page, body)
    return found
