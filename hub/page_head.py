"""The head of the pages a learner's own server shows: French, one look (DSFR-like), one focus ring.

« Commencez ici », « Mon parcours », « Ma révision du jour » and « Mes données » start with `head(title, style)`:
the page's `<head>` with the common style below, then the page's own rules. The page's body
follows, written by each page (only it is a `str.format` template, so the CSS here keeps
single braces).
"""

from __future__ import annotations

import html

#: Marianne, the State's blue, a visible focus on anything focusable, and the usual elements.
STYLE = """ body { font-family: Marianne, Arial, sans-serif; margin: 0; color: #161616; line-height: 1.5; font-size: 1.1rem; }
 header { background: #000091; color: #fff; padding: .6rem 1.2rem; } header h1 { margin: 0; }
 main { padding: .5rem 1.2rem 2rem; max-width: 50rem; } h2 { color: #000091; } a { color: #000091; }
 :focus { outline: 3px solid #0a76f6; outline-offset: 2px; }
 button { font: inherit; background: #000091; color: #fff; border: 0; padding: .5rem 1.2rem; cursor: pointer; }
 fieldset { border: 1px solid #929292; } label { display: block; margin: .3rem 0; }
 .erreur { border-left: .4rem solid #a3000b; background: #fee9e9; padding: .4rem .8rem; }
"""


def head(title: str, style: str = "") -> str:
    """`<!DOCTYPE html>` to `</head>`: French, `title` escaped, STYLE then the page's own `style` rules."""
    return (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{STYLE}{style}</style></head>\n"
    )
