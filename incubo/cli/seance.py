"""`incubo seance`: open, lead and close a guided séance of the room, on the hub machine.

    incubo seance ouvrir MODULE [--pas-a-pas]   → prints the code and the projection's address
    incubo seance etape-suivante CODE
    incubo seance sondage CODE --question Q-ID | --texte "…" --type … [--option …] [--correct …]
    incubo seance reveler CODE
    incubo seance etat CODE                     → JSON: participants, progress per step, polls
    incubo seance fermer CODE
    incubo seance liste

The same operations as the dashboard's « Séance » panel (`incubo.hub.seance_ops`).
"""

from __future__ import annotations

import argparse
import json
import logging

from incubo.config import Context

log = logging.getLogger(__name__)


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "seance",
        parents=[common],
        help="séance guidée de la salle : ouvrir, étapes, sondages, état, fermer",
        description="Mène une séance guidée sur le hub de la salle (à lancer sur la machine du hub, en root).",
    )
    p.set_defaults(func=lambda args, ctx: _usage(p))
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions")

    def action(name: str, help_: str, func) -> argparse.ArgumentParser:
        a = actions.add_parser(name, parents=[common], help=help_, description=help_)
        a.set_defaults(func=func)
        return a

    a = action(
        "ouvrir", "ouvrir une séance sur un module (affiche son code et la projection)", ouvrir
    )
    a.add_argument(
        "module", metavar="MODULE", help="identifiant du module, par exemple pp-01-decouvrir"
    )
    a.add_argument(
        "--pas-a-pas",
        action="store_true",
        help="ouvrir les notebooks du module un par un (« Étape suivante »)",
    )
    a = action("fermer", "fermer la séance", fermer)
    a.add_argument("code", metavar="CODE")
    a = action("etat", "état de la séance en JSON (participants, étapes, sondages)", etat)
    a.add_argument("code", metavar="CODE")
    a = action("etape-suivante", "ouvrir l'étape suivante à toute la salle", etape_suivante)
    a.add_argument("code", metavar="CODE")
    a = action("sondage", "poser une question à la salle", sondage)
    a.add_argument("code", metavar="CODE")
    a.add_argument("--question", metavar="ID", help="question de la banque de quiz du module")
    a.add_argument("--texte", metavar="QUESTION", help="question écrite sur le moment")
    a.add_argument(
        "--type",
        default="choix-unique",
        choices=["choix-unique", "choix-multiple", "nombre", "mot"],
        help="type de la question écrite (défaut : choix-unique)",
    )
    a.add_argument(
        "--option",
        action="append",
        default=[],
        metavar="TEXTE",
        help="réponse proposée (répétable)",
    )
    a.add_argument(
        "--correct",
        metavar="VALEUR",
        help="bonne réponse : numéro(s) de l'option (1 pour la première, « 1,3 »), le nombre ou le mot",
    )
    a = action("reveler", "montrer la bonne réponse de la question en cours", reveler)
    a.add_argument("code", metavar="CODE")
    action("liste", "les séances de ce hub", liste)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return 2


def _settings(ctx: Context):
    from incubo.config import hub_settings
    from incubo.hub.privileges import as_owner_of
    from incubo.seance import seances_dir

    settings = hub_settings(course_dir=ctx.course_dir)
    as_owner_of(seances_dir(settings.hub_dir))  # as root on the hub: as its services account
    return settings


def ouvrir(args, ctx: Context) -> int:
    from incubo import console
    from incubo.hub import seance_ops

    settings = _settings(ctx)
    s = seance_ops.open_seance(settings, args.module, step_by_step=args.pas_a_pas)
    console.success(f"Séance ouverte sur « {s.title} ». Code : {s.code}")
    console.info(
        f"Projection (pour l'écran de la salle) : {seance_ops.projection_url(settings, s.code)}"
    )
    if s.step_by_step:
        console.info(
            f"Étape 1 sur {len(s.steps)} ouverte : « incubo seance etape-suivante {s.code} » ouvre la suivante."
        )
    print(s.code)
    return 0


def fermer(args, ctx: Context) -> int:
    from incubo import console
    from incubo.hub import seance_ops

    s = seance_ops.close_seance(_settings(ctx), args.code)
    console.success(f"Séance {s.code} fermée. Synthèse : incubo report seance -p seance {s.code}")
    return 0


def etape_suivante(args, ctx: Context) -> int:
    from incubo import console
    from incubo.hub import seance_ops

    s = seance_ops.next_step(_settings(ctx), args.code)
    name = s.steps[s.step]
    console.success(
        f"Étape {s.step + 1} sur {len(s.steps)} ouverte : « {s.step_titles.get(name, name)} »."
    )
    return 0


def sondage(args, ctx: Context) -> int:
    from incubo import console
    from incubo.hub import seance_ops
    from incubo.seance import SeanceError

    if bool(args.question) == bool(args.texte):
        raise SeanceError(
            "Donnez soit --question (une question de la banque du module), soit --texte (une question écrite).",
            code="sondage-invalide",
        )
    if args.question:
        spec = {"question_id": args.question}
    else:
        from incubo.seance import typed_spec  # the dashboard form's reading, shared

        spec = typed_spec(
            {
                "type": args.type,
                "question": args.texte,
                "options": args.option,
                "correct": args.correct,
            }
        )
    poll = seance_ops.launch_poll(_settings(ctx), args.code, spec)
    console.success(f"Question {poll.id} posée à la salle : « {poll.question} »")
    return 0


def reveler(args, ctx: Context) -> int:
    from incubo import console
    from incubo.hub import seance_ops

    poll = seance_ops.reveal_poll(_settings(ctx), args.code)
    console.success(f"Bonne réponse affichée : {poll.answer_text() or '(aucune)'}")
    return 0


def etat(args, ctx: Context) -> int:
    from incubo import seance as store
    from incubo.hub.seance_ops import seance_statements
    from incubo.seance_view import seance_view

    settings = _settings(ctx)
    s = store.load(settings.hub_dir, args.code)
    try:
        exercises = store.module_info(settings.course_dir, s.module).exercises
    except store.SeanceError:
        exercises = {}
    view = seance_view(s, seance_statements(settings, s), exercises)
    print(json.dumps(view, ensure_ascii=False, indent=1))
    return 0


def liste(args, ctx: Context) -> int:
    from incubo import console
    from incubo import seance as store

    found = store.all_seances(_settings(ctx).hub_dir)
    if not found:
        console.info("Aucune séance sur ce hub.")
        return 0
    for s in found:
        opened = _moment(s.opened_at)
        state = "ouverte" if s.is_open else f"fermée le {_moment(s.closed_at)}"
        print(f"{s.code}\t{s.module}\touverte le {opened}\t{state}")
    return 0


def _moment(iso: str | None) -> str:
    """« vendredi 4 décembre, 15 h 27 » in the room's time (the store keeps UTC ISO instants)."""
    from incubo.french_time import french_moment
    from incubo.seance import parse_time

    moment = parse_time(iso)
    return french_moment(moment) if moment is not None else "à une date inconnue"
