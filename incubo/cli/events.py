"""`incubo events flush`: deliver the learning statements waiting in the local spool."""

from __future__ import annotations

import argparse

from incubo.config import Context
from incubo.errors import IncuboError


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "events", parents=[common], help="événements d'apprentissage (déclarations xAPI)"
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions")
    f = actions.add_parser(
        "flush",
        parents=[common],
        help="envoyer au LRS les déclarations en attente (INCUBO_LRS_URL)",
    )
    f.set_defaults(func=run_flush)
    s = actions.add_parser(
        "status", parents=[common], help="afficher où vont les déclarations et combien attendent"
    )
    s.set_defaults(func=run_status)
    p.set_defaults(func=lambda args, ctx: _missing_action(p))


def _missing_action(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n > 1 else ''}"


def run_flush(args, ctx: Context) -> int:
    from incubo import console, events

    url = events.lrs_url()
    if not url:  # on the hub's machine, the grader's spool goes to the room's gate
        from incubo.grading.statements import use_hub_lrs

        if use_hub_lrs() is not None:
            url = events.lrs_url()
    if not url:
        n = len(events.pending_files())
        raise IncuboError(
            "Aucun LRS n'est configuré : définissez INCUBO_LRS_URL (et INCUBO_LRS_AUTH=utilisateur:mot-de-passe)"
            f" puis relancez « incubo events flush ». {_plural(n, 'déclaration')} en attente"
            f" dans {events.spool_dir()}.",
            code="lrs-non-configure",
        )
    try:
        report = events.flush()
    except OSError as exc:
        raise IncuboError(
            f"Impossible d'utiliser le dossier d'attente {events.spool_dir()} ({exc.strerror or exc}) :"
            " vérifiez qu'il existe et que vous pouvez y écrire (variable INCUBO_SPOOL_DIR).",
            code="file-attente-inaccessible",
        ) from exc
    if report.rejected:
        console.warning(
            f"{_plural(report.rejected, 'déclaration')} refusée(s) par le LRS, conservée(s) dans {events.rejected_dir()}."
        )
    if report.error and report.retry_after:
        raise IncuboError(
            f"Le LRS {url} demande d'attendre {round(report.retry_after)} s."
            f" {_plural(report.sent, 'déclaration')} envoyée(s), {_plural(report.pending, 'déclaration')}"
            f" toujours en attente dans {events.spool_dir()} : relancez « incubo events flush » ensuite.",
            code="lrs-trop-de-requetes",
        )
    if report.error:
        raise IncuboError(
            f"Le LRS {url} est injoignable ({report.error}). {_plural(report.sent, 'déclaration')} envoyée(s),"
            f" {_plural(report.pending, 'déclaration')} toujours en attente dans {events.spool_dir()} :"
            " rien n'est perdu, relancez « incubo events flush » quand le LRS répond.",
            code="lrs-injoignable",
        )
    console.success(
        f"{_plural(report.sent, 'déclaration')} envoyée(s) au LRS {url} ; {_plural(report.pending, 'déclaration')} en attente."
    )
    return 0


def run_status(args, ctx: Context) -> int:
    from incubo import console, events

    console.info(
        f"Journal local : {events.events_file()} ({len(events.read_jsonl())} déclarations)."
    )
    url = events.lrs_url()
    console.info(f"LRS : {url}" if url else "LRS : aucun (INCUBO_LRS_URL n'est pas défini).")
    console.info(
        f"En attente d'envoi : {len(events.pending_files())} (dossier {events.spool_dir()})."
    )
    return 0
