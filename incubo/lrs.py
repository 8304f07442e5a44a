"""The LRS client's address and credentials, in one place for `incubo.events` and `incubo.reports`.

An LRS URL may be given as the server (`http://lrs:8100`), its xAPI root
(`…/xAPI`) or its statements resource (`…/xAPI/statements`): every part
turns it into the same endpoint and sends the same headers (xAPI version,
HTTP Basic from `INCUBO_LRS_AUTH`).
"""

from __future__ import annotations

import base64
import logging

from incubo.config import Settings, settings
from incubo.xapi import XAPI_VERSION

log = logging.getLogger(__name__)


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


def headers(config: Settings | None = None, *, json_body: bool = False) -> dict[str, str]:
    """What every request to the LRS carries: the xAPI version and, when configured, Basic auth."""
    config = config or settings()
    out = {"X-Experience-API-Version": XAPI_VERSION}
    if json_body:
        out["Content-Type"] = "application/json"
    if config.lrs_auth:
        out["Authorization"] = "Basic " + base64.b64encode(config.lrs_auth.encode()).decode()
    return out
