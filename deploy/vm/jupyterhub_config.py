"""JupyterHub for one session room on one VM (up to ~100 agents).

Configuration comes from environment variables (see deploy/README.md), so
the same file serves a demo (`INCUBO_HUB_AUTH=demo`) and a real room with
ProConnect (`INCUBO_HUB_AUTH=proconnect`, OpenID Connect).
"""

import os

c = get_config()  # noqa: F821 - provided by JupyterHub

auth = os.environ.get("INCUBO_HUB_AUTH", "demo")
course_dir = os.environ.get("INCUBO_COURSE_DIR", "/srv/incubo/cours")

c.JupyterHub.bind_url = os.environ.get("INCUBO_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = os.environ.get("INCUBO_HUB_DB_URL", "sqlite:////srv/incubo/jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.environ.get("INCUBO_HUB_COOKIE_SECRET", "/srv/incubo/jupyterhub_cookie_secret")

if auth == "proconnect":
    # ProConnect is an OpenID Connect provider: GenericOAuthenticator speaks it.
    issuer = os.environ["PROCONNECT_ISSUER"].rstrip("/")
    c.JupyterHub.authenticator_class = "generic-oauth"
    c.GenericOAuthenticator.client_id = os.environ["PROCONNECT_CLIENT_ID"]
    c.GenericOAuthenticator.client_secret = os.environ["PROCONNECT_CLIENT_SECRET"]
    c.GenericOAuthenticator.oauth_callback_url = os.environ["PROCONNECT_CALLBACK_URL"]
    c.GenericOAuthenticator.authorize_url = f"{issuer}/authorize"
    c.GenericOAuthenticator.token_url = f"{issuer}/token"
    c.GenericOAuthenticator.userdata_url = f"{issuer}/userinfo"
    c.GenericOAuthenticator.scope = ["openid", "email", "given_name", "usual_name", "uid"]
    c.GenericOAuthenticator.username_claim = "email"
    c.GenericOAuthenticator.login_service = "ProConnect"
    c.GenericOAuthenticator.allow_all = os.environ.get("PROCONNECT_ALLOW_ALL", "true") == "true"
    c.GenericOAuthenticator.admin_users = set(filter(None, os.environ.get("INCUBO_HUB_ADMINS", "").split(",")))
else:
    # Demo only: any user name, one shared password (never on a real network).
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = os.environ.get("INCUBO_DEMO_PASSWORD", "incubo-demo")

c.JupyterHub.spawner_class = os.environ.get("INCUBO_HUB_SPAWNER", "simple")
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = os.environ.get("INCUBO_NOTEBOOK_DIR", "~")
c.Spawner.environment = {
    "INCUBO_COURSE_DIR": course_dir,
    "INCUBO_LRS_URL": os.environ.get("INCUBO_LRS_URL", ""),
    "INCUBO_LRS_AUTH": os.environ.get("INCUBO_LRS_AUTH", ""),
}
c.Spawner.mem_limit = os.environ.get("INCUBO_MEM_LIMIT", "2G")
c.Spawner.http_timeout = 60
# nbgrader exchange shared by the room (release / collect)
args = ["--Exchange.root=" + os.environ.get("INCUBO_EXCHANGE", "/srv/nbgrader/exchange")]
if os.geteuid() == 0 and c.JupyterHub.spawner_class == "simple":
    args.append("--allow-root")  # single-user servers exit at once as root otherwise
c.Spawner.args = args
