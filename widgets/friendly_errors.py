"""Friendly French errors: a short explanation above the usual traceback.

Our own one-line explanations of the errors beginners meet most, completed
by friendly-traceback's French analysis of the likely cause (it names the
misspelt variable, the missing key, the file that is not there...). The
traceback itself stays, unchanged, below.
"""

from __future__ import annotations

import html
import logging
from typing import Any

log = logging.getLogger(__name__)

#: Short explanations, most specific class first (looked up along the MRO).
EXPLANATIONS: dict[str, tuple[str, str]] = {
    "ModuleNotFoundError": (
        "module introuvable",
        "Python ne trouve pas ce module : son nom est peut-être mal écrit (par exemple « pandas »), "
        "ou il n'est pas installé dans cet environnement.",
    ),
    "ImportError": (
        "import impossible",
        "Python n'arrive pas à importer ce nom depuis le module : vérifiez son orthographe.",
    ),
    "FileNotFoundError": (
        "fichier introuvable",
        "Le fichier demandé n'existe pas à cet endroit : vérifiez son nom (extension comprise, "
        "par exemple « .csv ») et qu'il se trouve dans le même dossier que le notebook.",
    ),
    "ZeroDivisionError": (
        "division par zéro",
        "Le nombre par lequel vous divisez vaut 0, et diviser par zéro est impossible. "
        "Vérifiez la valeur du diviseur.",
    ),
    "IndentationError": (
        "décalage des lignes incorrect",
        "Le décalage en début de ligne (l'indentation) n'est pas celui attendu : après une ligne qui se termine "
        "par « : », les lignes du bloc doivent être décalées de 4 espaces, les autres non.",
    ),
    "SyntaxError": (
        "écriture incorrecte",
        "Python ne comprend pas comment cette ligne est écrite : vérifiez les parenthèses, les guillemets, "
        "les deux-points « : » et les virgules.",
    ),
    "NameError": (
        "nom inconnu",
        "Python ne connaît pas ce nom : il est peut-être mal orthographié, ou la variable n'a pas encore été "
        "créée (exécutez d'abord la cellule qui la définit).",
    ),
    "UnboundLocalError": (
        "variable utilisée avant d'avoir une valeur",
        "Dans une fonction, cette variable est utilisée avant de recevoir une valeur.",
    ),
    "KeyError": (
        "clé ou colonne inconnue",
        "Cette clé n'existe pas dans le dictionnaire (ou cette colonne dans le tableau) : vérifiez son "
        "orthographe exacte, majuscules, accents et espaces compris.",
    ),
    "IndexError": (
        "position inexistante",
        "Cette position n'existe pas dans la liste : les positions commencent à 0 et vont jusqu'à la longueur "
        "moins 1.",
    ),
    "TypeError": (
        "type de valeur inadapté",
        "L'opération ne convient pas à ce type de valeur : par exemple additionner un texte et un nombre, "
        "ou appeler une fonction avec un mauvais nombre d'arguments.",
    ),
    "ValueError": (
        "valeur inadaptée",
        'La valeur a le bon type mais ne convient pas : par exemple int("douze"), ou un texte qui ne '
        "représente pas un nombre.",
    ),
    "AttributeError": (
        "attribut ou méthode inconnus",
        "Cet objet n'a pas d'attribut ou de méthode de ce nom : vérifiez l'orthographe, et le type de l'objet "
        "(un texte n'a pas les méthodes d'un tableau).",
    ),
    "NotImplementedError": (
        "réponse pas encore écrite",
        "Cette cellule contient encore « raise NotImplementedError() » : remplacez cette ligne (et « # VOTRE CODE "
        "ICI ») par votre réponse, puis exécutez la cellule.",
    ),
    "AssertionError": (
        "vérification non satisfaite",
        "Une vérification (assert) a échoué : lisez le message à la fin, il dit ce qui est attendu.",
    ),
    "RecursionError": (
        "fonction qui s'appelle sans fin",
        "Une fonction s'appelle elle-même sans jamais s'arrêter.",
    ),
    "MemoryError": (
        "mémoire épuisée",
        "Le calcul demande plus de mémoire que disponible : travaillez sur moins de données.",
    ),
    "BlockingIOError": (
        "ressource indisponible",
        "Le système refuse pour l'instant cette opération (trop de processus, ou une ressource occupée).",
    ),
    "OSError": (
        "erreur du système de fichiers",
        "L'opération sur un fichier ou un dossier a échoué : vérifiez le chemin et les droits.",
    ),
}
GENERIC = ("erreur", "Python s'est arrêté sur une erreur ; le détail technique est ci-dessous.")


def _lookup(exc_type: type) -> tuple[str, tuple[str, str]]:
    for klass in exc_type.__mro__:
        if klass.__name__ in EXPLANATIONS:
            return exc_type.__name__, EXPLANATIONS[klass.__name__]
    return exc_type.__name__, GENERIC


def likely_cause(exc: BaseException) -> str:
    """friendly-traceback's French analysis of this very error, or '' when it has none."""
    try:
        import friendly_traceback
        from friendly_traceback.core import FriendlyTraceback

        if friendly_traceback.get_lang() != "fr":
            friendly_traceback.set_lang("fr")
        ft = FriendlyTraceback(type(exc), exc, exc.__traceback__)
        ft.assign_cause()
        cause = str(ft.info.get("cause") or "").strip()
        cause = cause.split("Je n’ai pas d’informations")[0].strip()
        if "expression inconnue" in cause:  # source not available (code built by exec)
            return ""
        return cause
    except Exception:
        log.debug("friendly-traceback could not analyse %r", exc, exc_info=True)
        return ""


def room_limit(exc: BaseException) -> str:
    """On a room's hub, the French sentence for a limit of the learner's space that stopped this cell.

    The hub gives each learner's space a memory and a process limit, enforced by the system
    (`incubo.hub.limits`), and tells the server through `INCUBO_LIMITE_MEMOIRE` /
    `INCUBO_LIMITE_PROCESSUS`; a cell that goes past one gets `MemoryError`, or `BlockingIOError`
    when it starts a process.
    """
    import os

    memory = os.environ.get("INCUBO_LIMITE_MEMOIRE_TEXTE", "")
    processes = os.environ.get("INCUBO_LIMITE_PROCESSUS", "")
    if isinstance(exc, MemoryError) and memory:
        return (
            f"Votre espace a atteint sa limite de mémoire ({memory}) : ce calcul a été arrêté, les autres "
            "participants n'ont rien remarqué. Travaillez sur moins de données (par exemple les premières lignes "
            "avec .head(1000)), ou redémarrez le noyau (menu Noyau › Redémarrer) pour libérer la mémoire."
        )
    if isinstance(exc, BlockingIOError) and processes:
        return (
            f"Votre espace a atteint sa limite de {processes} processus : aucun nouveau processus ne peut "
            "démarrer, les autres participants n'ont rien remarqué. Arrêtez ce qui en lance en boucle, puis "
            "redémarrez le noyau (menu Noyau › Redémarrer)."
        )
    return ""


def explain_body(exc: BaseException) -> str:
    """Our sentence, then friendly-traceback's likely cause when it has one."""
    limit = room_limit(exc)
    if limit:
        return limit
    _name, (_title, sentence) = _lookup(type(exc))
    cause = likely_cause(exc)
    return sentence + (f"\nCause probable : {cause}" if cause else "")


def explain_text(exc: BaseException) -> str:
    """The plain-text explanation shown above the traceback."""
    name, (title, _sentence) = _lookup(type(exc))
    return f"À savoir — {name} : {title}\n{explain_body(exc)}"  # no emoji: Debian's fonts lack 💡


def headline(exc: BaseException) -> str:
    name, (title, _sentence) = _lookup(type(exc))
    return f"{title} ({name})"


def explain_html(exc: BaseException, text: str | None = None) -> str:
    text = text or explain_text(exc)
    head, _, rest = text.partition("\n")
    body = "<br>".join(html.escape(line) for line in rest.splitlines())
    return (
        '<div class="incubo-erreur" role="note" lang="fr" '
        'style="border-left:4px solid #b34000;background:#fff4ed;color:#3a3a3a;padding:.5em .8em;margin:.3em 0">'
        f"<strong>{html.escape(head)}</strong><br>{body}</div>"
    )


class _Explanation:
    """Rich output: HTML in JupyterLab/Voila, plain text elsewhere."""

    def __init__(self, exc: BaseException) -> None:
        self.text = explain_text(exc)
        self.html = explain_html(exc, self.text)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        return {"text/plain": self.text, "text/html": self.html}


def check_detail(exc: BaseException, cell_source: str) -> str:
    """The technical detail of a failed check, in French: which line, which error, what it means."""
    import traceback

    name, (title, _sentence) = _lookup(type(exc))
    lines = cell_source.splitlines()
    frames = [
        f for f in traceback.extract_tb(exc.__traceback__) if f.lineno and f.lineno <= len(lines)
    ]
    parts = []
    cell_frames = [
        f for f in frames if "ipykernel" in (f.filename or "") or (f.filename or "").startswith("<")
    ]
    if cell_frames:
        lineno = cell_frames[-1].lineno
        parts.append(
            f"Ligne {lineno} de la cellule de vérification :\n    {lines[lineno - 1].strip()}"
        )
    parts.append(f"Type d'erreur : {name} ({title}).")
    if not isinstance(exc, AssertionError | NotImplementedError):
        parts.append(explain_body(exc))
    return "\n".join(parts)


def _handler(shell, etype, value, tb, tb_offset=None):
    try:
        from IPython.display import display

        from incubo.widgets import cell_hooks, ui

        found = cell_hooks.verdict_for_error(value)  # the graded test cell of an exercise?
        if found is not None:
            ex_id, verdict = found
            # a check that fails is a verdict, not a crash: the French message only, the detail
            # folded, no English traceback; a later right answer replaces it (same display id)
            detail = check_detail(value, cell_hooks.current_cell())
            display(
                ui.Failure(verdict.code, verdict.text(), detail),
                display_id=ui.verdict_display_id(ex_id),
            )
            cell_hooks.remember_failure(ex_id)
            return None
        display(_Explanation(value))
    except Exception:
        log.debug("friendly explanation failed", exc_info=True)
    return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install(shell: Any = None) -> bool:
    """Show the French explanation above every error of this IPython session."""
    try:
        if shell is None:
            from IPython import get_ipython

            shell = get_ipython()
        if shell is None:
            return False
        shell.set_custom_exc((Exception,), _handler)
        return True
    except Exception:
        log.debug("could not install friendly errors", exc_info=True)
        return False


def load_ipython_extension(shell: Any) -> None:
    """`--ext incubo.widgets.friendly_errors`: the French explanations from the kernel's start.

    The room's learners' kernels load it (`incubo.hub.limits` kernel spec), so that a limit of their
    space stopping a cell is explained even in a notebook that never imported `incubo.widgets`.
    """
    install(shell)
