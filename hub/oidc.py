"""OpenID Connect checks oauthenticator does not do: discovery, JWKS, signed JWTs.

ProConnect signs both the ID token and the userinfo response (a JWT served as
`application/jwt`). Both are verified here against the provider's published
keys, with the algorithm the provider announces (RS256 or ES256 only: never
`none` or a shared-secret HMAC), and their `iss` and `aud` checked. An unknown
key id triggers one refetch of the JWKS (key rotation).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import jwt

log = logging.getLogger(__name__)

#: Asymmetric algorithms ProConnect may use; anything else is refused.
SAFE_ALGORITHMS = ("RS256", "ES256")

#: `fetch(url) -> (content_type, body)`: the HTTP GET the caller provides.
Fetch = Callable[[str], Awaitable[tuple[str, bytes]]]


class OIDCError(Exception):
    """A login refused: `message` is shown to the agent (French), `detail` goes to the log."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(detail or message)
        self.message = message
        self.detail = detail or message


@dataclass
class Provider:
    """One OpenID Connect provider: its discovery document and its keys."""

    issuer: str
    fetch: Fetch
    metadata: dict = field(default_factory=dict)
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def discover(self) -> dict:
        """Read `<issuer>/.well-known/openid-configuration` once, and check it names this issuer."""
        if self.metadata:
            return self.metadata
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            _, body = await self.fetch(url)
            metadata = json.loads(body)
        except Exception as exc:  # noqa: BLE001 - any failure means the provider cannot be used
            raise OIDCError(
                "ProConnect ne répond pas pour le moment ; réessayez dans quelques minutes.",
                f"discovery {url} failed: {exc!r}",
            ) from exc
        if metadata.get("issuer") != self.issuer:
            raise OIDCError(
                "La configuration ProConnect du hub est incorrecte ; prévenez l'équipe informatique.",
                f"discovery names issuer {metadata.get('issuer')!r}, expected {self.issuer!r}",
            )
        self.metadata = metadata
        return metadata

    def endpoint(self, name: str) -> str:
        return self.metadata[name]

    def algorithms(self, use: str) -> list[str]:
        """The announced signing algorithms for `use` (`id_token` or `userinfo`), limited to safe ones."""
        announced = self.metadata.get(f"{use}_signing_alg_values_supported") or ["RS256"]
        return [alg for alg in announced if alg in SAFE_ALGORITHMS]

    async def refresh_keys(self) -> None:
        """(Re)load the JWKS: at start, and whenever a token names a key we do not know."""
        _, body = await self.fetch(self.endpoint("jwks_uri"))
        keys = {}
        for data in json.loads(body).get("keys", []):
            try:
                key = jwt.PyJWK.from_dict(data)
            except jwt.PyJWTError as exc:
                log.warning("ignoring unusable key %s: %s", data.get("kid"), exc)
                continue
            keys[data.get("kid", "")] = key
        self._keys = keys
        log.info("JWKS loaded: %d key(s) %s", len(keys), sorted(keys))

    async def _key_for(self, kid: str) -> jwt.PyJWK | None:
        async with self._lock:
            if kid not in self._keys:
                await self.refresh_keys()
            if not kid and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            return self._keys.get(kid)

    async def verify(
        self, token: str, *, audience: str, use: str, nonce: str | None = None
    ) -> dict:
        """The claims of a JWT the provider signed for us, or `OIDCError`."""
        refused = (
            "Votre connexion ProConnect n'a pas pu être vérifiée (signature invalide) : "
            "par sécurité, elle est refusée. Réessayez ; si cela se reproduit, prévenez l'équipe informatique."
        )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise OIDCError(refused, f"{use}: not a JWT ({exc})") from exc
        alg = header.get("alg")
        if alg not in self.algorithms(use):
            raise OIDCError(refused, f"{use}: algorithm {alg!r} not among {self.algorithms(use)}")
        key = await self._key_for(header.get("kid", ""))
        if key is None:
            raise OIDCError(refused, f"{use}: unknown key id {header.get('kid')!r}")
        required = ["iss", "aud", "sub"] + (["exp", "iat"] if use == "id_token" else [])
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                audience=audience,
                issuer=self.issuer,
                leeway=30,
                options={"require": required},
            )
        except jwt.PyJWTError as exc:
            raise OIDCError(refused, f"{use}: {type(exc).__name__}: {exc}") from exc
        if use == "id_token":
            if nonce is None or not hmac.compare_digest(str(claims.get("nonce", "")), nonce):
                raise OIDCError(refused, "id_token: nonce does not match the one we sent")
            aud = claims["aud"]
            if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != audience:
                raise OIDCError(refused, "id_token: several audiences and azp is not us")
        return claims
