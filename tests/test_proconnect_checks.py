"""ProConnect building blocks without a hub: the name rule, the agent table, JWT checks.

The end-to-end login through a real hub is in test_proconnect.py.
"""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from incubo.hub.agents import AgentDirectory, base_name
from incubo.hub.oidc import OIDCError, Provider

ISSUER = "https://proconnect.test/api/v2"


@pytest.mark.parametrize(
    ("email", "name"),
    [
        ("Élodie.Martin@interieur.gouv.fr", "elodie-martin"),
        ("francois.lœuvre-çà@finances.gouv.fr", "francois-loeuvre-ca"),
        ("jean_pierre..DUPONT+formation@x.gouv.fr", "jean-pierre-dupont-f"),
        ("2024.stagiaire@x.fr", "agent-2024-stagiaire"),
        ("...@x.fr", "agent"),
    ],
)
def test_name_rule(email, name):
    assert base_name(email) == name
    # a Unix user name and a Kubernetes DNS-1123 label
    assert len(name) <= 20 and name[0].isalpha() and name[-1].isalnum()
    assert all(c.islower() or c.isdigit() or c == "-" for c in name)


def test_same_agent_same_name_other_agent_other_name(tmp_path):
    agents = AgentDirectory(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    first = agents.hub_name("sub-1", "idp-a", "Elodie.Martin@interieur.gouv.fr")
    # same sub at another identity provider: another agent
    other = agents.hub_name("sub-1", "idp-b", "elodie.martin@finances.gouv.fr")
    assert (first, other) == ("elodie-martin", "elodie-martin-2")
    # the name stays when the e-mail changes, and across restarts
    again = AgentDirectory(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    assert again.hub_name("sub-1", "idp-a", "e.martin@interieur.gouv.fr") == "elodie-martin"
    assert again.hub_name("sub-9", "idp-a", "elodie.martin@culture.gouv.fr") == "elodie-martin-3"


class KeyServer:
    """The provider's published keys, as the hub would fetch them (swappable: key rotation)."""

    def __init__(self, keys):
        self.keys = keys
        self.fetches = 0

    async def fetch(self, url: str):
        if url.endswith("openid-configuration"):
            meta = {
                "issuer": ISSUER,
                "jwks_uri": f"{ISSUER}/jwks",
                "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                "userinfo_signing_alg_values_supported": ["ES256", "HS256", "none"],
            }
            return "application/json", json.dumps(meta).encode()
        self.fetches += 1
        jwks = {
            "keys": [
                {
                    **json.loads(
                        jwt.algorithms.get_default_algorithms()[alg].to_jwk(k.public_key())
                    ),
                    "kid": kid,
                    "alg": alg,
                }
                for kid, alg, k in self.keys
            ]
        }
        return "application/json", json.dumps(jwks).encode()


def sign(key, kid, alg, **claims):
    base = {
        "iss": ISSUER,
        "aud": "incubo",
        "sub": "agent-1",
        "iat": int(time.time()),
        "exp": int(time.time()) + 60,
    }
    return jwt.encode({**base, **claims}, key, algorithm=alg, headers={"kid": kid})


def run(coro):
    return asyncio.run(coro)


def test_userinfo_checks_and_key_rotation():
    old = ec.generate_private_key(ec.SECP256R1())
    new = ec.generate_private_key(ec.SECP256R1())
    server = KeyServer([("k1", "ES256", old)])
    provider = Provider(ISSUER, server.fetch)

    async def scenario():
        await provider.discover()
        await provider.refresh_keys()
        ok = await provider.verify(
            sign(old, "k1", "ES256", email="a@b.fr"), audience="incubo", use="userinfo"
        )
        assert ok["email"] == "a@b.fr"
        # the provider rotates its key: the hub refetches the JWKS once and accepts
        server.keys = [("k1", "ES256", old), ("k2", "ES256", new)]
        fetches = server.fetches
        assert (await provider.verify(sign(new, "k2", "ES256"), audience="incubo", use="userinfo"))[
            "sub"
        ] == "agent-1"
        assert server.fetches == fetches + 1
        refused = [
            sign(new, "k1", "ES256"),  # signed by another key under a known kid
            sign(old, "k1", "ES256", iss="https://ailleurs.test/api/v2"),
            sign(old, "k1", "ES256", aud="un-autre-service"),
            jwt.encode(
                {"iss": ISSUER, "aud": "incubo", "sub": "x"}, "secret" * 6, algorithm="HS256"
            ),
            jwt.encode({"iss": ISSUER, "aud": "incubo", "sub": "x"}, None, algorithm="none"),
            "pas un jeton",
        ]
        for token in refused:
            with pytest.raises(OIDCError) as info:
                await provider.verify(token, audience="incubo", use="userinfo")
            assert "refusée" in info.value.message

    run(scenario())


def test_id_token_needs_our_nonce_and_a_valid_signature():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider = Provider(ISSUER, KeyServer([("r1", "RS256", key)]).fetch)
    nonce = "n" * 43

    async def scenario():
        await provider.discover()
        good = sign(key, "r1", "RS256", nonce=nonce)
        assert (await provider.verify(good, audience="incubo", use="id_token", nonce=nonce))[
            "nonce"
        ] == nonce
        for token, sent in [(good, "x" * 43), (sign(key, "r1", "RS256"), nonce), (good, None)]:
            with pytest.raises(OIDCError):
                await provider.verify(token, audience="incubo", use="id_token", nonce=sent)
        expired = sign(key, "r1", "RS256", nonce=nonce, exp=int(time.time()) - 120)
        with pytest.raises(OIDCError):
            await provider.verify(expired, audience="incubo", use="id_token", nonce=nonce)

    run(scenario())


def code_flow(provider, login: str, redirect_uri: str) -> dict:
    """The authorisation code flow by hand against the stand-in (no hub): returns the token response."""
    import base64
    import hashlib
    import html
    import re
    import secrets
    from urllib.parse import parse_qs, urljoin, urlparse

    import requests

    verifier = secrets.token_urlsafe(32)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    )
    nonce = secrets.token_urlsafe(32)
    session = requests.Session()
    params = {
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
        "scope": "openid given_name usual_name email uid siret idp_id", "state": secrets.token_urlsafe(32),
        "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256", "acr_values": "eidas1",
    }  # fmt: skip
    page = session.get(f"{provider.issuer}/authorize", params=params, timeout=30)
    action = html.unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    r = session.post(
        urljoin(page.url, action),
        data={"prompt": "login", "login": login, "password": "x"},
        allow_redirects=False,
    )
    while not r.headers["Location"].startswith(redirect_uri):
        r = session.get(urljoin(r.url, r.headers["Location"]), allow_redirects=False, timeout=30)
    code = parse_qs(urlparse(r.headers["Location"]).query)["code"][0]
    token = requests.post(
        f"{provider.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier,
              "client_id": provider.client_id, "client_secret": provider.client_secret},
        timeout=30,
    ).json()  # fmt: skip
    userinfo = requests.get(
        f"{provider.issuer}/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=30,
    )
    assert userinfo.headers["Content-Type"].startswith("application/jwt")
    return {**token, "nonce": nonce, "userinfo": userinfo.text}


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_tokens_of_the_real_stand_in_verify_in_both_algorithms(alg):
    import requests
    from proconnect_support import proconnect_stand_in

    agent = {
        "email": "a@b.gouv.fr",
        "given_name": "A",
        "usual_name": "B",
        "uid": "1",
        "siret": "1",
        "idp_id": "i",
    }
    redirect = "http://127.0.0.1:9/hub/oauth_callback"
    with proconnect_stand_in(
        redirect_uri=redirect,
        post_logout_redirect_uri="http://127.0.0.1:9/",
        agents={"agent": agent},
        alg=alg,
    ) as stand_in:

        async def fetch(url):
            r = requests.get(url, timeout=10)
            return r.headers.get("Content-Type", ""), r.content

        got = code_flow(stand_in, "agent", redirect)

        async def scenario():
            provider = Provider(stand_in.issuer, fetch)
            await provider.discover()
            assert provider.algorithms("userinfo") == [alg]
            claims = await provider.verify(
                got["id_token"], audience=stand_in.client_id, use="id_token", nonce=got["nonce"]
            )
            info = await provider.verify(
                got["userinfo"], audience=stand_in.client_id, use="userinfo"
            )
            assert claims["sub"] == info["sub"] == "agent" and info["siret"] == "1"
            with pytest.raises(OIDCError):  # another client's token is not for us
                await provider.verify(got["userinfo"], audience="un-autre-client", use="userinfo")

        run(scenario())
