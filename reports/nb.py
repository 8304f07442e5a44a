"""What a research notebook displays: French text, accessible tables, figures as PNG with a text alternative.

Outputs are plain HTML and PNG so that the exported report opens offline
(no JavaScript, no MathJax): `incubo report` converts them with the
`incubo_rapport` nbconvert template, which writes each figure's `alt`.
"""

from __future__ import annotations

import html
import io
import logging

import pandas as pd

log = logging.getLogger(__name__)

_STYLE = """
<style>
.incubo-table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.95em; }
.incubo-table caption { text-align: left; font-weight: bold; padding: 0.3em 0; }
.incubo-table th, .incubo-table td { border: 1px solid #999; padding: 0.25em 0.6em; }
.incubo-table td { text-align: right; }
.incubo-table th[scope=row] { text-align: left; font-weight: normal; }
.incubo-table .supprime { color: #5a5a5a; font-style: italic; }
.incubo-note { color: #333; font-size: 0.95em; }
.incubo-demo { border: 2px solid #8a4b00; background: #fff4e0; color: #3d2200; padding: 0.5em 0.8em; }
</style>
"""
_styled = False


def _display(obj) -> None:
    from IPython.display import display

    display(obj)


def paragraph(markup: str) -> None:
    """A paragraph (or a few) of HTML written by the notebook."""
    from IPython.display import HTML

    global _styled
    prefix = "" if _styled else _STYLE
    _styled = True
    _display(HTML(prefix + markup))


def fmt(value, decimals: int = 1) -> str:
    """A number the French way (decimal comma, thin space for thousands); « supprimé » for a hidden value."""
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return "supprimé"
    if isinstance(value, str):
        return value
    if isinstance(value, (int,)) or (
        isinstance(value, float) and float(value).is_integer() and decimals == 0
    ):
        return f"{int(value):,}".replace(",", "\u202f")
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace(".", ",")


def table(
    df: pd.DataFrame, caption: str, ident: str, *, index: bool = True, decimals: int = 1
) -> None:
    """An accessible HTML table (caption, header scopes); hidden cells are written out, never left blank."""
    head = "".join(
        f'<th scope="col">{html.escape(str(c))}</th>'
        for c in ([df.index.name or ""] if index else []) + list(df.columns)
    )
    body = []
    for label, row in df.iterrows():
        cells = [f'<th scope="row">{html.escape(str(label))}</th>'] if index else []
        for value in row:
            text = fmt(value, decimals)
            hidden = text == "supprimé" or text.startswith("< ")
            cls = ' class="supprime"' if hidden else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    paragraph(
        f'<table class="incubo-table" id="{html.escape(ident)}"><caption>{html.escape(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def figure(fig, alt: str, legend: str) -> None:
    """A matplotlib figure as an embedded PNG with its text alternative, then its caption."""
    import matplotlib.pyplot as plt
    from IPython.display import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    _display(Image(data=buf.getvalue(), format="png", metadata={"alt": alt}))
    paragraph(f'<p class="incubo-note"><strong>Figure.</strong> {legend}</p>')


def prefetch(*modules: str) -> None:
    """Import heavy modules in a background thread while DuckDB (which releases the GIL) loads the data."""
    import importlib
    import threading

    def run() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception as exc:  # the notebook's own import will report it
                log.debug("prefetch of %s failed: %s", name, exc)

    threading.Thread(target=run, daemon=True).start()


def setup_matplotlib() -> None:
    """Draw off-screen with readable defaults (figures are shown through `figure()` only)."""
    import warnings

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    import matplotlib.pyplot as plt  # waits for a prefetch still importing it

    plt.switch_backend("Agg")

    plt.rcParams.update(
        {
            "figure.figsize": (8, 4),
            "font.size": 11,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.formatter.use_locale": False,
        }
    )


def suppression_note(k: int, n_hidden: int) -> str:
    if not n_hidden:
        return f"Aucune case n'a dû être masquée (tous les groupes publiés comptent au moins {k} personnes)."
    return (
        f"{n_hidden} case(s) masquée(s) : « < {k} » signale un groupe de moins de {k} personnes, "
        "« supprimé » une case masquée en plus pour qu'aucun total ne permette de retrouver la précédente."
    )


DEMO_BANNER = (
    "Données de démonstration : ce rapport est construit sur des données fictives "
    "(« incubo demo-data », clé de pseudonymisation publique) ; aucun de ses chiffres ne décrit de "
    "vrais agents."
)


def is_demo(data) -> bool:
    """Built from demo data: the public demo key (`--demo`), or the files `incubo demo-data` wrote."""
    from incubo.config import settings
    from incubo.reports.demo import MARKER

    if settings().pseudonym_demo:
        return True
    src = data.src
    folder = src.course_dir.resolve()
    return (
        (folder / MARKER).exists()
        and not src.lrs_urls
        and all(folder in p.resolve().parents for p in src.event_files)
    )


def demo_banner(data) -> str:
    """The first thing a report built from demo data shows (empty otherwise)."""
    if not is_demo(data):
        return ""
    return f"<p class='incubo-demo' role='note'><strong>{html.escape(DEMO_BANNER)}</strong></p>"


def heading(data, title: str) -> None:
    """What the report covers, in plain words: scope, where the data come from, how many people, privacy.

    Technical terms (xAPI, LRS, HMAC, nbgrader) are for the « Méthode » section at the end (`methode`).
    """
    f = data.filters
    n = data.n_learners
    scope = [
        f"cohorte : {f['cohorte'] or 'toutes'}",
        f"parcours : {f['parcours'] or 'tous'}",
        f"période : {('du ' + _date_fr(f['debut'])) if f['debut'] else 'depuis le début'} "
        f"{('au ' + _date_fr(f['fin'])) if f['fin'] else 'à aujourd’hui'}",
    ]
    kinds = [
        "les traces d’activité des apprenants (leçons ouvertes, vérifications, indices, questionnaires)"
    ]
    if data.src.gradebook_url:
        kinds.append("les notes des devoirs corrigés automatiquement")
    if data.src.learners_file:
        kinds.append("la liste des apprenants (service, département, tranche d’âge seulement)")
    people = fmt(n) if n >= data.k else f"moins de {data.k}"
    paragraph(
        demo_banner(data)
        + f"<p><strong>{html.escape(title)}</strong> — {html.escape(' ; '.join(scope))}.</p>"
        f"<p>Données : {html.escape(', '.join(kinds))}. {people} apprenants actifs, "
        f"{fmt(data.n_statements)} actions enregistrées.</p>"
        f"<p class='incubo-note'>Confidentialité : chaque apprenant est remplacé par un code qu’on ne peut pas "
        f"relier à son nom sans une clé gardée à part ; aucun nom, courriel ni identifiant n’apparaît. Tout groupe "
        f"de moins de {data.k} personnes est masqué (« &lt; {data.k} »), et d’autres cases sont masquées si besoin "
        f"(« supprimé ») pour qu’aucun total ne le révèle. Les termes techniques sont expliqués dans la section "
        f"« Méthode », à la fin.</p>" + exclusion_note(data)
    )


def exclusion_note(data) -> str:
    """How many agents the research choices left out (`incubo.rgpd`), « < k » when few."""
    from incubo.rgpd import excluded_sentence

    sentence = excluded_sentence(
        getattr(data, "excluded", 0), data.k, getattr(data, "research_base", "opposition")
    )
    return f"<p class='incubo-note incubo-exclus'>{html.escape(sentence)}</p>"


def _date_fr(value: str) -> str:
    """2026-09-07 → 07/09/2026."""
    try:
        from datetime import date

        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except ValueError:
        return value


def methode(data, details: list[tuple[str, str]] | None = None) -> None:
    """The « Méthode » section closing every report: sources, pseudonyms, masking, then the report's own terms."""
    sources = []
    if data.src.event_files:
        sources.append(
            f"{len(data.src.event_files)} fichier(s) de déclarations xAPI (format JSON Lines)"
        )
    if data.src.lrs_urls:
        sources.append("un LRS (entrepôt de déclarations xAPI, API « statements »)")
    if data.src.gradebook_url:
        sources.append(
            "le carnet de notes nbgrader (tables des copies et des notes, lues sans écriture)"
        )
    if data.src.learners_file:
        sources.append(
            "le fichier apprenants.csv (colonnes service, département, tranche d’âge, cohorte)"
        )
    items = [
        (
            "Traces d’activité",
            "chaque action d’un apprenant est une déclaration (« statement ») au format xAPI : "
            "qui (pseudonyme), quoi (verbe : ouvert, tenté, réussi, indice demandé…), sur quoi (leçon, exercice, "
            "questionnaire), quand. Sources lues : " + "; ".join(sources) + ".",
        ),
        (
            "Pseudonymes",
            "identifiant remplacé par « p- » suivi des 16 premiers chiffres hexadécimaux d’un "
            "HMAC-SHA256 de l’identifiant, avec une clé secrète gardée hors du dépôt (INCUBO_PSEUDONYM_KEY) : "
            "le même apprenant a le même pseudonyme dans tous les tableaux d’un rapport.",
        ),
        (
            "Masquage des petits groupes",
            f"k-anonymat avec k = {data.k} : toute case de 1 à {data.k - 1} "
            "personnes est masquée (suppression primaire), puis d’autres cases le sont (suppression secondaire) "
            "pour qu’aucune case masquée ne se déduise des totaux publiés. Sur les figures, les parties masquées "
            "sont hachurées et marquées « masqué ».",
        ),
    ] + list(details or [])
    body = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in items)
    paragraph(
        f"<section class='incubo-methode'><h2 id='methode'>Méthode</h2><dl>{body}</dl></section>"
    )
