"""`incubo demo-data`: a synthetic, reproducible cohort in the course directory (for demos, tests, benchmarks)."""

from __future__ import annotations

import argparse

from incubo.config import Context, course_dir


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "demo-data",
        parents=[common],
        help="créer une cohorte fictive (apprenants, notes, traces d'activité) dans le dossier de cours",
        description="Écrit dans le dossier de cours (--course-dir, sinon ./_build/cours) une cohorte fictive "
        "reproductible : apprenants.csv, evenements/demo.jsonl (traces d'activité), gradebook.db (notes) "
        "quelques séances en salle (seances/, evenements/seances-demo.jsonl) et des révisions espacées "
        "(evenements/revisions-demo.jsonl), et affiche le chemin de "
        "chaque fichier.",
    )
    p.add_argument(
        "--learners",
        "--apprenants",
        dest="learners",
        type=int,
        default=200,
        metavar="N",
        help="nombre d'apprenants (défaut : 200)",
    )
    p.add_argument(
        "--seed",
        "--graine",
        dest="seed",
        type=int,
        default=0,
        metavar="S",
        help="graine du générateur : même graine, mêmes données (défaut : 0)",
    )
    p.set_defaults(func=run)


def run(args, ctx: Context) -> int:
    from incubo import console
    from incubo.reports import demo

    console.info(
        f"Création d'une cohorte fictive de {args.learners} apprenants dans le dossier de cours {ctx.course_dir}…"
    )
    summary = demo.generate(ctx.course_dir, learners=args.learners, seed=args.seed, progress=True)
    what = {
        "apprenants.csv": f"{summary['learners']} apprenants fictifs",
        "evenements/demo.jsonl": f"{summary['statements']} traces d'activité",
        "gradebook.db": "notes fictives des devoirs",
        "evenements/seances-demo.jsonl": f"{summary.get('seance_statements', 0)} traces d'activité "
        "pendant des séances en salle",
        "evenements/revisions-demo.jsonl": f"{summary.get('review_statements', 0)} réponses de "
        "« Ma révision du jour » (révisions espacées)",
        "seances/": "séances fictives (codes : " + ", ".join(summary.get("seances", [])) + ")",
    }
    lines = [
        f"  {ctx.course_dir / name} : {what.get(name, 'données fictives')}"
        for name in summary["files"]
    ]
    console.success(f"Cohorte fictive écrite (graine {summary['seed']}) :\n" + "\n".join(lines))
    where = "" if ctx.course_dir == course_dir(None) else f" --course-dir {ctx.course_dir}"
    console.info(f"Pour un rapport sur ces données : incubo report progression --demo{where}.")
    if summary.get("review_statements"):
        console.info(
            f"Pour la mémorisation (révisions espacées) : incubo report memorisation --demo{where}."
        )
    if summary.get("seances"):
        console.info(
            f"Pour le bilan d'une séance : incubo report seance --demo -p seance {summary['seances'][0]}"
            f"{where}."
        )
    return 0
