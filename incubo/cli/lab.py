"""`incubo lab`: JupyterLab in French, on the learner's own workspace (or on the course, for trainers)."""

from __future__ import annotations

import argparse

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "lab",
        parents=[common],
        help="ouvrir JupyterLab (en français) sur votre espace d'apprenant",
        description="Copie les parcours publiés dans votre espace (~/espace-incubo par défaut, "
        "sans jamais écraser votre travail) et y ouvre JupyterLab, page « Commencez ici ». "
        "Avec --formateur : JupyterLab sur le dossier de cours, avec les outils nbgrader.",
    )
    p.add_argument("--port", type=int, default=8888, help="port d'écoute (défaut : 8888)")
    p.add_argument("--ip", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    p.add_argument("--navigateur", action="store_true", help="ouvrir un navigateur au démarrage")
    p.add_argument(
        "--espace",
        metavar="DOSSIER",
        help="votre espace d'apprenant (défaut : INCUBO_WORKSPACE, sinon ~/espace-incubo)",
    )
    p.add_argument(
        "--formateur",
        action="store_true",
        help="ouvrir le dossier de cours lui-même, avec les outils nbgrader (pour les formateurs)",
    )
    p.set_defaults(func=run)


def run(args, ctx: Context) -> int:
    from incubo import lab
    from incubo.config import workspace_dir

    return lab.serve(
        ctx.course_dir,
        ip=args.ip,
        port=args.port,
        open_browser=args.navigateur,
        workspace=workspace_dir(args.espace),
        trainer=args.formateur,
    )
