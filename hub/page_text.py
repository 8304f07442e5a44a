"""French words for the few parts of JupyterHub's page that no template block reaches.

`hub/templates/page.html` extends JupyterHub's own `page.html` and overrides its
blocks; what sits outside every block (the `lang` of `<html>`, the `<noscript>`
message, the error dialog and its close button) is translated here, when Jinja
loads JupyterHub's page. A JupyterHub release that rewords one of these
strings makes the page fail to load with the missing string named, rather
than quietly showing English to the room.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import TemplateSyntaxError
from jinja2.ext import Extension

#: Our own templates (page.html there extends JupyterHub's, which Jinja also loads as "page.html").
OURS = Path(__file__).resolve().parent / "templates"

#: Exact text of JupyterHub's page → its French replacement.
FRENCH = {
    '<html lang="en">': '<html lang="fr">',
    'aria-label="Close"': 'aria-label="Fermer"',
    "JupyterHub requires JavaScript.": "Cette page a besoin de JavaScript.",
    "Please enable it to proceed.": "Activez-le dans votre navigateur pour continuer.",
    # the dialog keeps its id "error-dialog" (JupyterHub's utils.js looks it up); only its words change
    '-label">{{ title }}</h2>': '-label">{{ {"Error": "Erreur"}.get(title, title) }}</h2>',
    '<div class="ajax-error alert-danger">The error</div>': (
        '<div class="ajax-error alert-danger">L\'erreur</div>'
    ),
}


def translate_page(source: str) -> str:
    """JupyterHub's page source with FRENCH applied; ValueError names a string no longer there."""
    for english, french in FRENCH.items():
        if english not in source:
            raise ValueError(f"JupyterHub's page.html no longer contains {english!r}")
        source = source.replace(english, french)
    return source


class FrenchPage(Extension):
    """Jinja extension translating JupyterHub's page as it is loaded (other templates untouched)."""

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if name != "page.html" or filename is None or Path(filename).resolve().parent == OURS:
            return source
        try:
            return translate_page(source)
        except ValueError as error:
            raise TemplateSyntaxError(str(error), 1, name, filename) from None
