"""`incubo report NAME`: a research notebook → an offline HTML report without code."""

from __future__ import annotations

import argparse

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "report",
        parents=[common],
        help="exécuter une analyse de recherche et écrire un rapport HTML hors ligne",
        description="Exécute un notebook de notebooks/analyses/ avec papermill (données pseudonymisées, "
        "petits groupes masqués) et écrit un rapport HTML sans code, lisible hors ligne.",
    )
    p.add_argument(
        "nom",
        metavar="NOM",
        help="nom du rapport (progression, exercices, autoevaluation, engagement, seance, memorisation)",
    )
    p.add_argument(
        "-p",
        "--parametre",
        nargs=2,
        action="append",
        default=[],
        metavar=("CLE", "VALEUR"),
        help="paramètre du notebook (répétable), par exemple -p cohorte 2026-automne -p k 5",
    )
    p.add_argument(
        "-o",
        "--sortie",
        metavar="DOSSIER",
        default="rapports",
        help="dossier du rapport (défaut : ./rapports)",
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="données de démonstration : clé de pseudonymisation publique (jamais pour des données réelles)",
    )
    p.add_argument(
        "--derogation-k",
        metavar="REFERENCE",
        default=None,
        help="référence du protocole de recherche validé qui exige un seuil de masquage k inférieur à 5 "
        "(journalisée, et signalée en tête du rapport)",
    )
    p.set_defaults(func=run)


def run(args, ctx: Context) -> int:
    from pathlib import Path

    from incubo import console
    from incubo.reports import runner

    result = runner.run(
        args.nom,
        [tuple(pair) for pair in args.parametre],
        Path(args.sortie),
        ctx.course_dir,
        demo=args.demo,
        derogation_k=args.derogation_k,
    )
    console.success(f"Rapport écrit : {result.html} ({console.seconds(result.seconds)})")
    return 0
