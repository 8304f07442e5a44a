"""The room's pages extend JupyterHub's own templates: each renders, in French, with no copied page.

Rendered with the loader JupyterHub builds (our folder first, its own under the
"templates/" prefix) and the extension hub/config.py installs; no hub is started.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

from incubo.hub import page_text

ROOT = Path(__file__).resolve().parents[1]
OURS = ROOT / "hub" / "templates"
UPSTREAM = Path(sys.prefix) / "share" / "jupyterhub" / "templates"

CONTEXT = dict(
    base_url="/hub/",
    prefix="/",
    logo_url="",
    login_url="/hub/login",
    logout_url="/hub/logout",
    authenticator_login_url="/hub/login",
    static_url=lambda path, **_: f"/hub/static/{path}",
    xsrf_token="jeton",
    parsed_scopes={"admin-ui"},
    services=[{"name": "tableau", "href": "/services/tableau/"}],
    announcement="",
    version_hash="",
    no_spawner_check=True,
    user=None,
)
LEARNER = SimpleNamespace(
    name="agent-1",
    json_escaped_name="agent-1",
    url="/user/agent-1/",
    spawner=SimpleNamespace(options_form=None),
)


def environment() -> Environment:
    loader = ChoiceLoader(
        [
            FileSystemLoader([str(OURS)]),
            PrefixLoader({"templates": FileSystemLoader([str(UPSTREAM)])}, "/"),
        ]
    )
    return Environment(loader=loader, autoescape=True, extensions=[page_text.FrenchPage])


def test_page_extends_jupyterhub_page_and_is_french():
    html = environment().get_template("page.html").render(CONTEXT, user=LEARNER)
    source = (OURS / "page.html").read_text(encoding="utf-8")
    assert source.startswith('{% extends "templates/page.html" %}')
    assert len(source.splitlines()) < 100, "page.html copies JupyterHub's page again"
    assert '<html lang="fr">' in html
    for french in (
        "Activez-le dans votre navigateur",
        "Erreur",
        'aria-label="Fermer"',
        "Administration",
    ):
        assert french in html, french
    for english in ('lang="en"', "requires JavaScript", ">Error<", ">Token<", 'aria-label="Close"'):
        assert english not in html, english
    # JupyterHub's utils.js shows ajax errors in #error-dialog: the id must stay
    assert 'id="error-dialog"' in html


@pytest.mark.parametrize("name", sorted(p.name for p in OURS.glob("*.html")))
def test_every_room_template_renders(name):
    html = (
        environment()
        .get_template(name)
        .render(
            CONTEXT,
            user=LEARNER,
            default_server=SimpleNamespace(active=True),
            url="/user/agent-1/",
            status_code=404,
            status_message="Not Found",
            message="",
            login_error="",
        )
    )
    assert '<html lang="fr">' in html


def test_a_reworded_jupyterhub_page_fails_loudly():
    with pytest.raises(ValueError, match="lang"):
        page_text.translate_page("<html lang='en-GB'>")


@pytest.mark.parametrize("status", [404, 403, 500])
def test_learners_servers_error_pages_are_french(status):
    """jupyter_server's pages of a learner's own server (`hub/templates/server/`), no hub started."""
    from french_screens import english_in

    env = Environment(loader=FileSystemLoader([str(OURS / "server")]), autoescape=True)
    name = "404.html" if status == 404 else "error.html"
    html = env.get_template(name).render(
        base_url="/user/agent-1/", status_code=status, status_message="Not Found", message="x"
    )
    assert '<html lang="fr">' in html and f"Erreur {status}" in html
    assert 'href="/user/agent-1/incubo/commencez-ici"' in html
    assert not english_in(html), english_in(html)


@pytest.mark.parametrize(
    ("status", "title"),
    [
        (401, "Connexion nécessaire"),
        (404, "Page introuvable"),
        (504, "Le service met trop de temps à répondre"),
    ],
)
def test_the_hubs_and_the_learners_error_pages_name_a_status_alike(status, title):
    """One list of French status titles (`server/status_titles.html`) for both kinds of error page."""
    values = dict(status_code=status, status_message="Not Found", message="")
    hub = environment().get_template("error.html").render(CONTEXT, user=LEARNER, **values)
    server = Environment(loader=FileSystemLoader([str(OURS / "server")]), autoescape=True)
    learner = server.get_template("error.html").render(base_url="/user/agent-1/", **values)
    for html in (hub, learner):
        assert f"Erreur {status} : {title}" in html
