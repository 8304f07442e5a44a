"""The ProConnect stand-in for tests: panva's oidc-provider configured as ProConnect.

`tests/fixtures/proconnect/provider.mjs` does the OpenID Connect side; this
module starts it on a free port (process group, always stopped), and reads
its request log and switches its forged-userinfo mode.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from harness import ROOT, free_port, stop, wait_for

SCRIPT = ROOT / "tests" / "fixtures" / "proconnect" / "provider.mjs"


@dataclass
class StandIn:
    issuer: str
    client_id: str
    client_secret: str
    control: str

    def log(self) -> list[dict]:
        """Every request the provider received: method, path, query."""
        return requests.get(f"{self.control}/__control/log", timeout=10).json()

    def requests_to(self, endpoint: str) -> list[dict]:
        return [r for r in self.log() if r["path"] == f"/api/v2/{endpoint}"]

    def forge_userinfo(self, on: bool) -> None:
        """Sign userinfo with a key that is not in the JWKS (same key id): a forgery."""
        requests.post(
            f"{self.control}/__control/forge-userinfo", params={"on": int(on)}, timeout=10
        ).raise_for_status()


@contextlib.contextmanager
def proconnect_stand_in(
    *, redirect_uri: str, post_logout_redirect_uri: str, agents: dict[str, dict], alg: str = "RS256"
) -> Iterator[StandIn]:
    """Start the stand-in; `agents` maps a login (the agent's `sub`) to its claims."""
    base = Path(tempfile.mkdtemp(prefix="incubo-proconnect-"))
    port = free_port()
    settings = {
        "port": port,
        "client_id": f"incubo-{secrets.token_hex(4)}",
        "client_secret": secrets.token_urlsafe(24),
        "redirect_uri": redirect_uri,
        "post_logout_redirect_uri": post_logout_redirect_uri,
        "alg": alg,
        "agents": agents,
    }
    (base / "settings.json").write_text(json.dumps(settings), encoding="utf-8")
    err = open(base / "stderr.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        ["node", str(SCRIPT), str(base / "settings.json")],
        stdout=subprocess.PIPE, stderr=err, start_new_session=True, cwd=ROOT,
    )  # fmt: skip
    try:
        line = proc.stdout.readline().decode()
        if not line:
            proc.wait(10)
            raise RuntimeError((base / "stderr.log").read_text(errors="replace"))
        issuer = json.loads(line)["issuer"]
        control = issuer.rsplit("/api/v2", 1)[0]
        wait_for(
            lambda: requests.get(f"{issuer}/.well-known/openid-configuration", timeout=2).ok,
            timeout=30,
        )
        yield StandIn(issuer, settings["client_id"], settings["client_secret"], control)
    finally:
        stop(proc)
        err.close()
        shutil.rmtree(base, ignore_errors=True)
