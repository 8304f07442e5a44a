"""Log state agents in with ProConnect, the state's OpenID Connect federation.

oauthenticator's GenericOAuthenticator cannot talk to ProConnect: it sends no
`nonce`, reads the userinfo answer as JSON where ProConnect sends a signed JWT
(`application/jwt`), trusts the ID token without checking its signature, and
its logout never reaches ProConnect's `end_session`. This subclass of
`OAuthenticator` does what ProConnect's partner documentation asks:

- endpoints from `<PROCONNECT_ISSUER>/.well-known/openid-configuration`;
- `state` and `nonce` (43 random characters each) on every authorisation
  request, PKCE S256, only standard parameters, `client_secret_post`;
- the ID token's signature, `iss`, `aud`, expiry and `nonce` checked, the
  userinfo JWT's signature, `iss` and `aud` checked (keys from the JWKS,
  refetched on an unknown key id), its `sub` equal to the ID token's;
- only the administrations of PROCONNECT_SIRETS when it is set (the `siret`
  claim; others get a French refusal and no hub user);
- the hub name from the e-mail by the rule of `incubo.hub.agents`, stable per
  `(sub, idp_id)`;
- given name, usual name, SIRET, e-mail in the encrypted `auth_state`, the
  administration as hub group `administration-<siret>`; trainers in
  `formgrade-<course_id>` (`incubo.hub.trainers`: INCUBO_HUB_FORMATEURS lists
  their verified e-mails or ProConnect `sub`, never a hub name, which is
  handed out first come), everyone in `nbgrader-<course_id>`;
- logout: the hub session is closed, then the browser goes to ProConnect's
  `end_session` with `id_token_hint`, `state` and `post_logout_redirect_uri`.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from urllib.parse import urlencode

from jupyterhub.crypto import CryptKeeper
from oauthenticator.oauth2 import (
    OAuthCallbackHandler,
    OAuthenticator,
    OAuthLoginHandler,
    OAuthLogoutHandler,
    _deserialize_state,
    _serialize_state,
)
from tornado import web
from tornado.httpclient import HTTPClientError
from traitlets import List, Unicode, default

from incubo.config import ProConnectSettings, hub_settings
from incubo.hub import trainers
from incubo.hub.agents import AgentDirectory
from incubo.hub.oidc import OIDCError, Provider
from incubo.secret_files import private_secret

log = logging.getLogger(__name__)

SCOPES = ["openid", "given_name", "usual_name", "email", "uid", "siret", "idp_id"]
REFUSED = "ProConnect a refusé la connexion ; réessayez dans un instant. Si cela se reproduit, prévenez l'équipe informatique."


def _refuse(error: OIDCError) -> web.HTTPError:
    """The login failed: 401 (not authenticated), so the hub's French error page shows our sentence."""
    log.warning("ProConnect login refused: %s", error.detail)
    exc = web.HTTPError(401, error.message)
    exc.jupyterhub_message = error.message
    return exc


class ProConnectLoginHandler(OAuthLoginHandler):
    """The authorisation request: state, nonce, PKCE, and nothing ProConnect does not know."""

    async def get(self) -> None:
        auth: ProConnectAuthenticator = self.authenticator
        try:
            provider = await auth.provider()
        except OIDCError as error:
            raise _refuse(error) from error
        state_id = secrets.token_urlsafe(32)
        nonce = secrets.token_urlsafe(32)
        code_verifier, code_challenge = self._generate_pkce_params()
        cookie = {
            "state_id": state_id,
            "next_url": self._get_next_url(),
            "code_verifier": code_verifier,
            "nonce": nonce,
        }
        self.set_state_cookie(_serialize_state(cookie))
        params = {
            "response_type": "code",
            "client_id": auth.client_id,
            "redirect_uri": auth.get_callback_url(self),
            "scope": " ".join(auth.scope),
            "state": _serialize_state({"state_id": state_id}),
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        if auth.acr_values:
            params["acr_values"] = auth.acr_values
        self.redirect(f"{provider.endpoint('authorization_endpoint')}?{urlencode(params)}")


class ProConnectCallbackHandler(OAuthCallbackHandler):
    """The return from ProConnect: state, issuer (RFC 9207), then groups for the agent."""

    def check_arguments(self) -> None:
        super().check_arguments()
        iss = self.get_argument("iss", None)
        if iss is not None and iss != self.authenticator.issuer:
            raise _refuse(
                OIDCError(REFUSED, f"callback iss {iss!r} is not {self.authenticator.issuer!r}")
            )


class ProConnectLogoutHandler(OAuthLogoutHandler):
    """Close the hub session, then ProConnect's (required by ProConnect)."""

    async def get(self) -> None:
        user = self.current_user
        id_token = None
        if user:
            id_token = (await user.get_auth_state() or {}).get("id_token")
        await self.default_handle_logout()
        await self.handle_logout()
        self._jupyterhub_user = None
        if not id_token:
            await self.render_logout_page()
            return
        try:
            provider = await self.authenticator.provider()
        except OIDCError as error:
            raise _refuse(error) from error
        params = {
            "id_token_hint": id_token,
            "state": secrets.token_urlsafe(32),
            "post_logout_redirect_uri": self.authenticator.post_logout_redirect_uri,
        }
        self.redirect(f"{provider.endpoint('end_session_endpoint')}?{urlencode(params)}")


class ProConnectAuthenticator(OAuthenticator):
    """JupyterHub authenticator for ProConnect (see the module docstring)."""

    login_service = "ProConnect"
    login_handler = ProConnectLoginHandler
    callback_handler = ProConnectCallbackHandler
    logout_handler = ProConnectLogoutHandler
    user_auth_state_key = "proconnect_user"

    issuer = Unicode(config=True, help="PROCONNECT_ISSUER: the issuer URL, ending in /api/v2.")
    post_logout_redirect_uri = Unicode(
        config=True,
        help="PROCONNECT_POST_LOGOUT_URL: where ProConnect sends the agent after logout (as registered).",
    )
    acr_values = Unicode(
        config=True, help="acr_values asked for (eidas1 by default); empty for none."
    )
    course_id = Unicode(
        "incubo", config=True, help="nbgrader course id, names the trainer and learner groups."
    )
    formateurs = List(
        Unicode(),
        config=True,
        help="Trainers (INCUBO_HUB_FORMATEURS): verified e-mails or ProConnect `sub`, never hub names.",
    )
    sirets = List(
        Unicode(),
        config=True,
        help="PROCONNECT_SIRETS: the administrations (SIRET) whose agents may log in; empty: all.",
    )
    agents_db_url = Unicode(
        config=True,
        help="Where the (sub, idp_id) → hub name table lives; the hub's database by default.",
    )
    crypt_key_file = Unicode(
        config=True,
        help="File holding the auth_state key when JUPYTERHUB_CRYPT_KEY is not set (created 0600).",
    )

    def _settings(self) -> ProConnectSettings:
        return ProConnectSettings.from_env()

    @default("formateurs")
    def _formateurs_default(self) -> list[str]:
        return list(hub_settings().formateurs)

    @default("sirets")
    def _sirets_default(self) -> list[str]:
        return list(self._settings().sirets)

    @default("course_id")
    def _course_id_default(self) -> str:
        return hub_settings().course_id

    @default("issuer")
    def _issuer_default(self) -> str:
        return self._settings().issuer

    @default("client_id")
    def _client_id_default(self) -> str:
        return self._settings().client_id

    @default("client_secret")
    def _client_secret_default(self) -> str:
        return self._settings().client_secret

    @default("oauth_callback_url")
    def _oauth_callback_url_default(self) -> str:
        return self._settings().callback_url

    @default("post_logout_redirect_uri")
    def _post_logout_default(self) -> str:
        return self._settings().post_logout_url

    @default("acr_values")
    def _acr_values_default(self) -> str:
        return self._settings().acr_values

    @default("scope")
    def _scope_default(self) -> list[str]:
        return list(SCOPES)

    @default("enable_auth_state")
    def _enable_auth_state_default(self) -> bool:
        return True

    @default("allow_all")
    def _allow_all_default(self) -> bool:
        return True  # every agent ProConnect vouches for; narrow with allowed_users

    @default("refresh_pre_spawn")
    def _refresh_pre_spawn_default(self) -> bool:
        return False  # ProConnect access tokens live 60 s and come without refresh token

    @default("agents_db_url")
    def _agents_db_url_default(self) -> str:
        return getattr(self.parent, "db_url", None) or "sqlite:///jupyterhub.sqlite"

    @default("crypt_key_file")
    def _crypt_key_file_default(self) -> str:
        return str(hub_settings().hub_dir / "crypt_key")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.enable_pkce = True
        self.basic_auth = False  # client_secret_post
        self._provider: Provider | None = None
        self._agents: AgentDirectory | None = None
        self._ensure_crypt_key()

    def _ensure_crypt_key(self) -> None:
        """auth_state is encrypted: use JUPYTERHUB_CRYPT_KEY, else a key kept in the hub folder."""
        keeper = CryptKeeper.instance()
        if keeper.keys:
            return
        path = Path(self.crypt_key_file)
        if not path.exists():
            log.info("generating the auth_state key in %s", path)
        keeper.keys = [private_secret(path)]

    @property
    def agents(self) -> AgentDirectory:
        if self._agents is None:
            self._agents = AgentDirectory(self.agents_db_url)
        return self._agents

    async def _get(self, url: str) -> tuple[str, bytes]:
        resp = await self.httpfetch(
            url, "fetching ProConnect metadata", parse_json=False, method="GET"
        )
        return resp.headers.get("Content-Type", ""), resp.body

    async def provider(self) -> Provider:
        """ProConnect's endpoints and keys, read once from its discovery document."""
        if self._provider is None:
            provider = Provider(self.issuer.rstrip("/"), self._get)
            await provider.discover()
            await provider.refresh_keys()
            self._provider = provider
            self.authorize_url = provider.endpoint("authorization_endpoint")
            self.token_url = provider.endpoint("token_endpoint")
            self.userdata_url = provider.endpoint("userinfo_endpoint")
        return self._provider

    async def _userinfo(self, provider: Provider, token_info: dict) -> dict:
        """Userinfo as ProConnect sends it: a JWT, verified like the ID token."""
        headers = {
            "Accept": "application/jwt",
            "Authorization": f"Bearer {token_info['access_token']}",
        }
        resp = await self.httpfetch(
            self.userdata_url,
            "fetching ProConnect userinfo",
            parse_json=False,
            method="GET",
            headers=headers,
        )
        ctype = resp.headers.get("Content-Type", "")
        if not ctype.startswith("application/jwt"):
            raise OIDCError(REFUSED, f"userinfo came as {ctype!r}, not application/jwt")
        return await provider.verify(resp.body.decode(), audience=self.client_id, use="userinfo")

    async def authenticate(self, handler, data=None, **kwargs) -> dict:
        provider = await self.provider()
        params = self.build_access_tokens_request_params(handler, data)
        nonce = _deserialize_state(handler.get_state_cookie()).get("nonce")
        try:
            try:
                token_info = await self.get_token_info(handler, params)
                id_claims = await provider.verify(
                    token_info.get("id_token", ""),
                    audience=self.client_id,
                    use="id_token",
                    nonce=nonce,
                )
                user = await self._userinfo(provider, token_info)
            except HTTPClientError as exc:
                raise OIDCError(REFUSED, f"ProConnect answered {exc}") from exc
            if user.get("sub") != id_claims["sub"]:
                raise OIDCError(REFUSED, "userinfo sub differs from the ID token's")
            if not user.get("email"):
                raise OIDCError(
                    "ProConnect n'a pas transmis votre adresse électronique : la connexion est impossible.",
                    "userinfo has no email",
                )
        except OIDCError as error:
            raise _refuse(error) from error
        self._check_siret(user)
        idp_id = str(user.get("idp_id") or id_claims.get("idp_id") or "")
        name = self.agents.hub_name(str(user["sub"]), idp_id, user["email"])
        agent = {
            k: user.get(k)
            for k in ("sub", "idp_id", "email", "given_name", "usual_name", "uid", "siret")
        }
        auth_state = {
            **agent,
            "acr": id_claims.get("acr"),
            "id_token": token_info.get("id_token"),
            "access_token": token_info.get("access_token"),
            self.user_auth_state_key: user,
        }
        log.info("ProConnect agent %s (idp %s) logged in as %s", user["sub"], idp_id, name)
        return {
            "name": name,
            "admin": None,
            "auth_state": auth_state,
            "groups": self.groups_for(name, auth_state),
        }

    async def refresh_user(self, user, handler=None, **kwargs):
        """The hub session stands on its own: ProConnect's 60-second access token cannot be reused."""
        return True

    def _check_siret(self, user: dict) -> None:
        """PROCONNECT_SIRETS set: an agent of another administration is refused before any hub name."""
        allowed = {s.strip() for s in self.sirets if s.strip()}
        siret = str(user.get("siret") or "").replace(" ", "")
        if allowed and siret not in allowed:
            shown = f" (SIRET {siret})" if siret else ""
            raise _refuse(
                OIDCError(
                    f"Votre administration{shown} n'a pas accès à cette salle : seuls les agents des "
                    "administrations inscrites peuvent s'y connecter. Si vous devriez y avoir accès, "
                    "prévenez votre formateur ou l'équipe informatique.",
                    f"siret {siret!r} not in PROCONNECT_SIRETS",
                )
            )  # 401 as every refused login: the hub's error page then shows this sentence

    def is_trainer(self, auth_state: dict) -> bool:
        """Listed by verified e-mail or `sub` (`incubo.hub.trainers`); the hub name never counts."""
        return trainers.listed_agent(
            self.formateurs, email=auth_state.get("email"), sub=auth_state.get("sub")
        )

    def groups_for(self, name: str, auth_state: dict) -> list[str]:
        """Learner group for all, trainer group for trainers, one group per administration (SIRET).

        With `Authenticator.manage_groups` (set by `incubo.hub.config`) the hub applies them at
        each login, so removing someone from INCUBO_HUB_FORMATEURS takes effect at their next login.
        """
        groups = trainers.room_groups(self.course_id, trainer=self.is_trainer(auth_state))
        if auth_state.get("siret"):
            groups.append(f"administration-{auth_state['siret']}")
        return groups
