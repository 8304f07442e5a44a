"""A learner's server and the RGPD store: through the LRS gate on a hub, the local store on one machine.

On a hub the store is the services account's (`<hub>/rgpd`): the learner's server reads the
notice and records the learner's acknowledgement and research choice through the gate
(`incubo.hub.lrs_gate_rgpd`), with the server's own credential (`INCUBO_LRS_AUTH`), so it
can only ever speak for its learner. On one machine the store is the learner's own
(`~/.incubo/rgpd`): the same answers are computed in-process.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

from tornado import httpclient

from incubo import lrs
from incubo.config import settings


def gate_url() -> str | None:
    """`<gate>/rgpd` when this server's LRS is the room's gate, else None (one machine)."""
    url = settings().lrs_url.strip()
    if not url or not os.environ.get("JUPYTERHUB_USER"):
        return None
    base = url.split("/xAPI", 1)[0].rstrip("/")
    return base + "/rgpd"


async def _gate(method: str, path: str = "", body: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Authorization": lrs.basic_auth(settings().lrs_auth), "Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    request = httpclient.HTTPRequest(
        gate_url() + path,
        method=method,
        headers=headers,
        body=None if body is None else json.dumps(body).encode(),
        request_timeout=15,
    )
    response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
    if response.code != 200:
        try:
            detail = json.loads(response.body)["detail"]
        except (ValueError, KeyError, TypeError):
            detail = f"le LRS de la salle répond {response.code}"
        raise RuntimeError(detail)
    return json.loads(response.body)


def _user() -> str:
    from incubo import xapi

    return xapi.learner_of({"actor": xapi.actor()})


async def state() -> dict[str, Any]:
    """The notice (version, text), `a_lire`, the research basis and `inclus`, for this learner."""
    if gate_url():
        return await _gate("GET")
    from incubo.hub import lrs_gate_rgpd

    return await asyncio.to_thread(lrs_gate_rgpd.state, _user())


async def acknowledge(version: str) -> dict[str, Any]:
    if gate_url():
        return await _gate("POST", "/accuse", {"version": version})
    from incubo.hub import lrs_gate_rgpd

    return await asyncio.to_thread(lrs_gate_rgpd.acknowledge, _user(), version)


async def choose(included: bool) -> dict[str, Any]:
    if gate_url():
        return await _gate("POST", "/recherche", {"inclus": included})
    from incubo.hub import lrs_gate_rgpd

    return await asyncio.to_thread(lrs_gate_rgpd.choose, _user(), included)


async def own_rows() -> dict[str, list[dict[str, Any]]]:
    """This learner's own rows of the store (`choix_recherche`, `accuses_notice`), for their archive."""
    if gate_url():
        return await _gate("GET", "/donnees")
    from incubo.hub import lrs_gate_rgpd

    return await asyncio.to_thread(lrs_gate_rgpd.own_rows, _user())
