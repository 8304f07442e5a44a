"""Logging in with ProConnect, end to end: the oidc-provider stand-in, a real hub and proxy, real accounts.

The stand-in behaves as ProConnect documents (signed ID token and userinfo,
nonce required, unknown parameters refused, PKCE, RP-initiated logout). An
agent logs in with an HTTP client, as a browser would (following redirects,
filling the provider's login form), and lands in their own lab, run by the
Unix account the hub made for the name derived from their e-mail.
"""

from __future__ import annotations

import contextlib
import grp
import html
import re
import secrets
import sqlite3
import stat
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
from harness import free_port
from hub_support import LabClient, start_hub
from proconnect_support import proconnect_stand_in

from incubo.hub.agents import base_name

TAG = secrets.token_hex(3)
AGENTS = {
    # login typed in the stand-in = the agent's `sub` at their identity provider
    f"sub-{TAG}-1": {
        "email": f"Élodie.Martin.{TAG}@interieur.gouv.fr",
        "given_name": "Élodie",
        "usual_name": "Martin",
        "uid": "1",
        "siret": "13000000000011",
        "idp_id": "idp-interieur",
    },
    # another agent whose e-mail gives the same name
    f"sub-{TAG}-2": {
        "email": f"elodie.martin.{TAG}@finances.gouv.fr",
        "given_name": "Élodie",
        "usual_name": "Martin",
        "uid": "2",
        "siret": "11000000000022",
        "idp_id": "idp-finances",
    },
    # a trainer, named by e-mail in INCUBO_HUB_FORMATEURS
    f"sub-{TAG}-3": {
        "email": f"formatrice.{TAG}@occitanie.gouv.fr",
        "given_name": "Anne",
        "usual_name": "Formatrice",
        "uid": "3",
        "siret": "13000000000033",
        "idp_id": "idp-interieur",
    },
    # a trainer named by their ProConnect `sub`
    f"sub-{TAG}-4": {
        "email": f"paul.durand.{TAG}@culture.gouv.fr",
        "given_name": "Paul",
        "usual_name": "Durand",
        "uid": "4",
        "siret": "11000000000044",
        "idp_id": "idp-culture",
    },
    # a learner whose e-mail's local part gives the hub name of a trainer (listed by that name
    # as an old configuration did, and by e-mail), and who logs in first
    f"sub-{TAG}-5": {
        "email": f"chef.{TAG}@agriculture.gouv.fr",
        "given_name": "Jean",
        "usual_name": "Malin",
        "uid": "5",
        "siret": "11000000000055",
        "idp_id": "idp-agriculture",
    },
    # the real trainer behind that name
    f"sub-{TAG}-6": {
        "email": f"chef.{TAG}@occitanie.gouv.fr",
        "given_name": "Claire",
        "usual_name": "Chef",
        "uid": "6",
        "siret": "13000000000033",
        "idp_id": "idp-interieur",
    },
    # an agent of an administration outside PROCONNECT_SIRETS
    f"sub-{TAG}-7": {
        "email": f"hors.salle.{TAG}@ailleurs.gouv.fr",
        "given_name": "Luc",
        "usual_name": "Ailleurs",
        "uid": "7",
        "siret": "99999999999999",
        "idp_id": "idp-ailleurs",
    },
}
FIRST, SECOND, TRAINER, TRAINER_BY_SUB, SQUATTER, CHEF, OUTSIDER = AGENTS
#: INCUBO_HUB_FORMATEURS: e-mails and a `sub`, and a hub name (which must never count).
FORMATEURS = [
    AGENTS[TRAINER]["email"],
    TRAINER_BY_SUB,
    base_name(AGENTS[CHEF]["email"]),
    AGENTS[CHEF]["email"].upper(),
]
#: PROCONNECT_SIRETS: every administration above but the outsider's.
SIRETS = sorted({a["siret"] for k, a in AGENTS.items() if k != OUTSIDER})


@pytest.fixture(scope="module")
def room():
    port = free_port()
    hub_url = f"http://127.0.0.1:{port}"
    with proconnect_stand_in(
        redirect_uri=f"{hub_url}/hub/oauth_callback",
        post_logout_redirect_uri=f"{hub_url}/hub/login",
        agents=AGENTS,
    ) as provider:
        env = {
            "INCUBO_HUB_AUTH": "proconnect",
            "INCUBO_HUB_PORT": str(port),
            "PROCONNECT_ISSUER": provider.issuer,
            "PROCONNECT_CLIENT_ID": provider.client_id,
            "PROCONNECT_CLIENT_SECRET": provider.client_secret,
            "PROCONNECT_CALLBACK_URL": f"{hub_url}/hub/oauth_callback",
            "PROCONNECT_POST_LOGOUT_URL": f"{hub_url}/hub/login",
            "PROCONNECT_SIRETS": ", ".join(SIRETS),
        }
        with start_hub(formateurs=FORMATEURS, extra_env=env) as hub:
            yield hub, provider


def proconnect_login(hub, login: str) -> tuple[requests.Session, requests.Response]:
    """What a browser does: the hub's ProConnect button, the provider's form, back to the hub."""
    session = requests.Session()
    page = session.get(f"{hub.url}/hub/oauth_login?next=/hub/home", timeout=60)
    assert page.status_code == 200, page.text[:500]
    action = re.search(r'<form[^>]*action="([^"]+)"', page.text)
    assert action, page.text[:1000]
    back = session.post(
        urljoin(page.url, html.unescape(action.group(1))),
        data={"prompt": "login", "login": login, "password": "secret"},
        timeout=120,
    )
    return session, back


def hub_name_of(hub, login: str) -> str | None:
    """The hub name given to the agent `login` (their `sub`), read from the hub's agents table."""
    with contextlib.closing(sqlite3.connect(hub.hub_dir / "jupyterhub.sqlite")) as db:
        row = db.execute(
            "SELECT name FROM incubo_proconnect_agents WHERE sub = ?", (login,)
        ).fetchone()
    return row[0] if row else None


def text_of(response: requests.Response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode("utf-8")))


def open_lab(hub, session: requests.Session, name: str) -> LabClient:
    hub.start_server(name)
    r = session.get(f"{hub.url}/user/{name}/lab", timeout=120)
    assert r.status_code == 200 and urlparse(r.url).path == f"/user/{name}/lab", (
        r.status_code,
        r.url,
    )
    return LabClient(hub, session, name)


def test_authorisation_request_is_what_proconnect_accepts(room):
    hub, provider = room
    assert "Se connecter avec ProConnect" in requests.get(f"{hub.url}/hub/login", timeout=30).text
    _session, back = proconnect_login(hub, FIRST)
    assert back.status_code == 200, back.text[:500]
    first = provider.requests_to("authorize")[0]["query"]
    assert set(first) == {
        "response_type", "client_id", "redirect_uri", "scope", "state", "nonce",
        "code_challenge", "code_challenge_method", "acr_values",
    }  # fmt: skip
    assert len(first["state"]) >= 32 and len(first["nonce"]) >= 32
    assert first["code_challenge_method"] == "S256" and first["acr_values"] == "eidas1"
    assert first["scope"].split() == [
        "openid",
        "given_name",
        "usual_name",
        "email",
        "uid",
        "siret",
        "idp_id",
    ]
    # every login gets fresh values
    proconnect_login(hub, FIRST)
    states = [
        r["query"].get("state") for r in provider.requests_to("authorize") if "state" in r["query"]
    ]
    nonces = [
        r["query"].get("nonce") for r in provider.requests_to("authorize") if "nonce" in r["query"]
    ]
    assert len(set(states)) == len(states) >= 2 and len(set(nonces)) == len(nonces)


def test_agent_lands_in_their_lab_under_the_derived_name_same_agent_same_user(room):
    hub, _provider = room
    name = base_name(AGENTS[FIRST]["email"])
    assert name == f"elodie-martin-{TAG}"[:20]
    session, _ = proconnect_login(hub, FIRST)
    lab = open_lab(hub, session, name)
    out = lab.run("import getpass, os; print(getpass.getuser()); print(os.path.expanduser('~'))")
    assert out["error"] is None, out
    user, home = out["stdout"].split()
    assert user == hub.unix_user(name) and user != "root"
    assert home.startswith(str(hub.home_base))
    # the same agent again: the same hub user, no new one
    before = set(hub.hub_users())
    session2, _ = proconnect_login(hub, FIRST)
    assert set(hub.hub_users()) == before
    again = session2.get(f"{hub.url}/user/{name}/lab", timeout=120)  # the same lab, opened again
    assert again.status_code == 200 and urlparse(again.url).path == f"/user/{name}/lab"
    # the administration is a group, given name and SIRET are kept encrypted
    model = hub.user_model(name)
    assert (
        "administration-13000000000011" in model["groups"] and "nbgrader-incubo" in model["groups"]
    )
    assert "formgrade-incubo" not in model["groups"]
    raw = (hub.hub_dir / "jupyterhub.sqlite").read_bytes()
    assert "Élodie".encode() not in raw and AGENTS[FIRST]["email"].encode() not in raw
    key = hub.hub_dir / "crypt_key"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600


def test_another_agent_gets_another_user_and_trainers_are_marked(room):
    hub, _provider = room
    first = base_name(AGENTS[FIRST]["email"])
    proconnect_login(hub, FIRST)
    _session, back = proconnect_login(hub, SECOND)
    assert back.status_code == 200
    assert f"{first}-2" in hub.hub_users()
    assert "administration-11000000000022" in hub.user_model(f"{first}-2")["groups"]
    proconnect_login(hub, TRAINER)
    trainer = hub_name_of(hub, TRAINER)
    assert "formgrade-incubo" in hub.user_model(trainer)["groups"]


def test_forged_userinfo_is_refused_in_french(room):
    hub, provider = room
    before = set(hub.hub_users())
    provider.forge_userinfo(True)
    try:
        session, back = proconnect_login(hub, f"sub-{TAG}-1")
    finally:
        provider.forge_userinfo(False)
    assert back.status_code == 401
    message = text_of(back)
    assert "signature invalide" in message and "refusée" in message, message[-1500:]
    assert set(hub.hub_users()) == before
    assert session.get(f"{hub.url}/hub/api/user", timeout=30).status_code in (401, 403)


def test_logout_reaches_end_session_with_the_three_parameters(room):
    hub, provider = room
    session, back = proconnect_login(hub, FIRST)
    assert back.status_code == 200
    r = session.get(f"{hub.url}/hub/logout", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].startswith(
        f"{provider.issuer}/session/end?"
    )
    page = session.get(r.headers["Location"], timeout=30)
    assert page.status_code == 200
    ended = provider.requests_to("session/end")[-1]["query"]
    assert set(ended) == {"id_token_hint", "state", "post_logout_redirect_uri"}
    assert ended["post_logout_redirect_uri"] == f"{hub.url}/hub/login" and len(ended["state"]) >= 32
    assert ended["id_token_hint"].count(".") == 2
    # the hub session is closed
    assert session.get(f"{hub.url}/hub/api/user", timeout=30).status_code in (401, 403)
    assert parse_qs(urlparse(r.headers["Location"]).query)["id_token_hint"] == [
        ended["id_token_hint"]
    ]


def test_attack_a_learner_named_like_a_trainer_gets_no_trainer_rights(room):
    """The hub name comes first come from the e-mail's local part: it never makes a trainer."""
    hub, _provider = room
    _session, back = proconnect_login(hub, SQUATTER)  # before the trainer: takes the name
    assert back.status_code == 200
    squatter = hub_name_of(hub, SQUATTER)
    assert squatter == base_name(AGENTS[CHEF]["email"]) and squatter in FORMATEURS
    assert "formgrade-incubo" not in hub.user_model(squatter)["groups"]
    session, _ = proconnect_login(hub, SQUATTER)
    hub.wait_running()  # the dashboard service is up
    for tool in ("/services/tableau-de-bord/", "/services/incubo/", "/services/incubo/devoirs"):
        r = session.get(f"{hub.url}{tool}", timeout=60)
        assert r.status_code == 403, (tool, r.status_code)
    # the real trainer, recognised by e-mail (any case), gets the next name and the rights
    proconnect_login(hub, CHEF)
    chef = hub_name_of(hub, CHEF)
    assert chef == f"{squatter}-2"
    assert "formgrade-incubo" in hub.user_model(chef)["groups"]


def test_attack_an_administration_outside_proconnect_sirets_is_refused(room):
    hub, _provider = room
    before = set(hub.hub_users())
    session, back = proconnect_login(hub, OUTSIDER)
    assert back.status_code == 401
    message = text_of(back)
    assert "n'a pas accès à cette salle" in message and "99999999999999" in message, message[-1500:]
    assert set(hub.hub_users()) == before and hub_name_of(hub, OUTSIDER) is None
    assert session.get(f"{hub.url}/hub/api/user", timeout=30).status_code in (401, 403)


@pytest.mark.parametrize("agent", [TRAINER, TRAINER_BY_SUB], ids=["par-courriel", "par-sub"])
def test_a_trainer_named_by_sub_gets_the_group_and_the_unix_trainers_group(room, agent):
    """Listed by e-mail or by `sub`: the hub's group and, through the spawner, the Unix trainers'
    group (a trainer listed by e-mail once got the first and not the second)."""
    hub, _provider = room
    session, back = proconnect_login(hub, agent)
    assert back.status_code == 200
    name = hub_name_of(hub, agent)
    assert "formgrade-incubo" in hub.user_model(name)["groups"]
    open_lab(hub, session, name)  # the spawner reads the group: the account joins the trainers'
    members = grp.getgrnam(hub.env["INCUBO_HUB_GROUPE_FORMATEURS"]).gr_mem  # unique per hub
    assert hub.unix_user(name) in members
    learner = base_name(AGENTS[FIRST]["email"])
    assert hub.unix_user(learner) not in members
