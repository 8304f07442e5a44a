"""`incubo demo-data`: a synthetic, reproducible cohort in the course directory (for demos, tests, benchmarks)."""

from __future__ import annotations

import argparse

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo-data",
        parents=[common],
        help="créer une cohorte fictive (apprenants, carnet de notes, statements)",
        description="Écrit dans le dossier de cours une cohorte fictive reproductible : apprenants.csv, "
        "evenements/demo.jsonl (statements xAPI) et gradebook.db (carnet de notes nbgrader).",
    )
    p.add_argument("--learners", "--apprenants", dest="learners", type=int, default=200, metavar="N",
                   help="nombre d'apprenants (défaut : 200)")
    p.add_argument("--seed", "--graine", dest="seed", type=int, default=0, metavar="S",
                   help="graine du générateur : même graine, mêmes données (défaut : 0)")
    p.set_defaults(func=run)


def run(args, ctx: Context) -> int:
    from incubo import console
    from incubo.reports import demo

    console.info(f"Création d'une cohorte fictive de {args.learners} apprenants dans {ctx.course_dir}…")
    summary = demo.generate(ctx.course_dir, learners=args.learners, seed=args.seed, progress=True)
    console.success(
        f"{summary['learners']} apprenants, {summary['statements']} statements, carnet de notes nbgrader "
        f"écrits dans {ctx.course_dir} (graine {summary['seed']})."
    )
    return 0
