"""`incubo build`: course sources → nbgrader course directory (source and release)."""

from __future__ import annotations

import argparse

from incubo.config import Context, courses_dir


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "build",
        parents=[common],
        help="construire le cours : sources courses/ → devoirs nbgrader (source et release)",
        description="Vérifie les sources des parcours puis produit les devoirs nbgrader. "
        "Un module inchangé n'est pas reconstruit ; une source fautive est refusée sans rien modifier.",
    )
    p.add_argument(
        "--parcours", metavar="ID", help="ne construire que ce parcours (nom de son dossier)"
    )
    p.add_argument(
        "--courses", metavar="DOSSIER", help="dossier des sources de cours (défaut : ./courses)"
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="tout reconstruire, même les modules inchangés",
    )
    p.set_defaults(func=run)


def run(args, ctx: Context) -> int:
    from incubo.grading.build import build

    build(courses_dir(args.courses), ctx.course_dir, parcours_id=args.parcours, force=args.force)
    return 0
