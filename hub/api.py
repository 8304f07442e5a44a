"""A small client of the hub's REST API with the `incubo` service token kept in hub_dir."""

from __future__ import annotations

import logging

import requests

from incubo.config import HubSettings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)


class HubAPI:
    """The hub's REST API on 127.0.0.1 (hub_port), authenticated as the `incubo` service."""

    def __init__(
        self,
        settings: HubSettings,
        timeout: float = 30,
        *,
        token: str | None = None,
        base: str | None = None,
    ) -> None:
        """`token`/`base`: another service's token and API URL (a hub service's JUPYTERHUB_API_*)."""
        self.base = (base or f"http://127.0.0.1:{settings.hub_port}/hub/api").rstrip("/")
        self.timeout = timeout
        try:
            if token is None:
                token = settings.service_token_file.read_text(encoding="utf-8").strip()
        except OSError:
            raise IncuboError(
                f"Aucun hub n'a encore tourné avec le dossier « {settings.hub_dir} » : lancez d'abord « incubo hub ».",
                code="hub-absent",
            ) from None
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, self.base + path, timeout=self.timeout, **kwargs)
        except requests.ConnectionError:
            raise IncuboError(
                "Le hub ne répond pas : lancez « incubo hub » dans un autre terminal, puis recommencez.",
                code="hub-injoignable",
            ) from None

    def alive(self) -> bool:
        try:
            return self.session.get(self.base + "/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def users(self) -> list[dict]:
        r = self.request("GET", "/users", params={"limit": 1000})
        r.raise_for_status()
        data = r.json()
        return data["items"] if isinstance(data, dict) else data

    def user(self, name: str) -> dict | None:
        r = self.request("GET", f"/users/{name}")
        if r.status_code == 404:
            return None
        r.raise_for_status()
        return r.json()

    def ensure_user(self, name: str) -> None:
        r = self.request("POST", f"/users/{name}")
        if r.status_code not in (201, 409):
            raise IncuboError(
                f"Le hub refuse l'utilisateur « {name} » : {_reason(r)}", code="hub-utilisateur"
            )

    def start_server(self, name: str) -> None:
        r = self.request("POST", f"/users/{name}/server")
        # 201 started, 202 pending, 400 already running
        if r.status_code not in (201, 202, 400):
            raise IncuboError(
                f"Le serveur de « {name} » n'a pas démarré : {_reason(r)}", code="hub-demarrage"
            )

    def stop_server(self, name: str) -> None:
        r = self.request("DELETE", f"/users/{name}/server")
        if r.status_code not in (202, 204, 400, 404):
            raise IncuboError(
                f"Le serveur de « {name} » ne s'arrête pas : {_reason(r)}", code="hub-arret"
            )

    def server_state(self, name: str) -> str:
        """'pret', 'en-cours' or 'arrete' for the user's default server."""
        model = self.user(name) or {}
        server = (model.get("servers") or {}).get("")
        if not server:
            return "en-cours" if model.get("pending") else "arrete"
        return "pret" if server.get("ready") else "en-cours"


def _reason(r: requests.Response) -> str:
    try:
        return str(r.json().get("message") or r.status_code)
    except ValueError:
        return f"HTTP {r.status_code}"
