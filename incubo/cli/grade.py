"""`incubo grade`: autograde (parallel, sandboxed, resumable), feedback, export."""

from __future__ import annotations

import argparse

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    from incubo.grading.limits import HELP_TEXT_FR

    grade = sub.add_parser("grade", parents=[common], help="corriger les copies, produire les retours, exporter les notes")
    gsub = grade.add_subparsers(dest="action", metavar="ACTION", title="actions", parser_class=type(grade))

    p = gsub.add_parser(
        "autograde",
        parents=[common],
        help="corriger automatiquement les copies rendues d'un devoir (en parallèle, dans un bac à sable)",
        description="Corrige les copies de submitted/ avec nbgrader, chaque notebook dans un noyau isolé. "
        "Une correction interrompue reprend là où elle s'était arrêtée. " + HELP_TEXT_FR,
    )
    p.add_argument("assignment", metavar="DEVOIR", help="nom du devoir (module)")
    p.add_argument("--workers", type=int, default=None, metavar="N", help="notebooks exécutés en même temps (défaut : un par cœur)")
    p.add_argument("--student", default=None, metavar="ID", help="ne corriger que la copie de cet apprenant")
    p.set_defaults(func=run_autograde)

    p = gsub.add_parser("feedback", parents=[common], help="produire les retours HTML en français, sans tests cachés")
    p.add_argument("assignment", metavar="DEVOIR", help="nom du devoir (module)")
    p.add_argument("--student", default=None, metavar="ID", help="ne produire que le retour de cet apprenant")
    p.set_defaults(func=run_feedback)

    p = gsub.add_parser(
        "export",
        parents=[common],
        help="exporter les notes en CSV (une ligne par apprenant et devoir)",
        description="Écrit un fichier CSV qui s'ouvre en colonnes dans Excel en français "
        "(séparateur point-virgule, virgule décimale, UTF-8 avec BOM), ou le CSV standard, ou le format d'import de Moodle.",
    )
    p.add_argument("-o", "--output", default=None, metavar="FICHIER", help="fichier CSV à écrire (défaut : la sortie standard)")
    flavour = p.add_mutually_exclusive_group()
    flavour.add_argument(
        "--csv-standard",
        action="store_true",
        help="CSV standard pour les scripts (virgules, point décimal, UTF-8 sans BOM) au lieu du format Excel en français",
    )
    flavour.add_argument("--moodle", action="store_true", help="format d'import des notes de Moodle")
    p.add_argument("--assignment", default=None, metavar="DEVOIR", help="n'exporter que ce devoir")
    p.set_defaults(func=run_export)

    p = gsub.add_parser(
        "k8s-jobs",
        parents=[common],
        help="écrire les Jobs Kubernetes qui corrigent un devoir pour toute la région (un Job par lot de copies)",
        description="Écrit un fichier YAML (une NetworkPolicy, puis un Job par lot de copies rendues) "
        "à appliquer avec « kubectl apply -f ». Voir deploy/README.md, « La région (Kubernetes) ».",
    )
    p.add_argument("assignment", metavar="DEVOIR", help="nom du devoir (module)")
    p.add_argument("--par", type=int, default=25, metavar="N", help="copies par Job (défaut : 25)")
    p.add_argument("--workers", type=int, default=2, metavar="N", help="noyaux en même temps dans un Job (défaut : 2)")
    p.add_argument("--image", default=None, metavar="IMAGE", help="image de correction (incubo installé, bubblewrap)")
    p.add_argument("--namespace", default="incubo", metavar="NOM", help="espace de noms Kubernetes (défaut : incubo)")
    p.add_argument("-o", "--output", default=None, metavar="FICHIER", help="fichier YAML à écrire (défaut : la sortie standard)")
    p.set_defaults(func=run_k8s_jobs)

    grade.set_defaults(func=lambda args, ctx: _missing_action(grade))


def _missing_action(parser) -> int:
    parser.print_help()
    return 2


def _check_course(ctx: Context) -> None:
    from incubo.errors import IncuboError

    if not ctx.course_dir.is_dir():
        raise IncuboError(
            f"Le dossier de cours {ctx.course_dir} n'existe pas. Lancez d'abord « incubo build » ou indiquez --course-dir.",
            code="cours-introuvable",
        )


def run_autograde(args, ctx: Context) -> int:
    from incubo import console
    from incubo.errors import IncuboError
    from incubo.grading.autograde import autograde

    _check_course(ctx)
    if ctx.debug:
        import logging

        logging.getLogger("incubo.grading.nbgrader").setLevel(logging.DEBUG)
    if args.workers is not None and args.workers < 1:
        raise IncuboError("--workers doit être un nombre entier positif.", code="option-invalide")
    summary = autograde(ctx.course_dir, args.assignment, workers=args.workers, student=args.student)
    shown = 0
    for student, reasons in sorted(summary.remarks.items()):
        for reason in reasons:
            if shown < 40:
                console.info(f"  {student} — {reason}")
            shown += 1
    if shown > 40:
        console.info(f"  … et {shown - 40} autre(s) remarque(s) : voir « incubo grade export ».")
    for line in summary.errors:
        console.error(f"copie non corrigée, à relancer : {line}")
    console.success(summary.french())
    return 1 if summary.errors else 0


def run_feedback(args, ctx: Context) -> int:
    from incubo import console
    from incubo.grading.feedback import generate_feedback

    _check_course(ctx)
    written = generate_feedback(ctx.course_dir, args.assignment, student=args.student)
    console.success(f"{len(written)} retour(s) écrit(s) dans {ctx.course_dir / 'feedback'}.")
    return 0


def run_export(args, ctx: Context) -> int:
    from incubo import console
    from incubo.grading.export import export_grades

    _check_course(ctx)
    rows = export_grades(
        ctx.course_dir, args.output, moodle=args.moodle, assignment=args.assignment, plain=args.csv_standard
    )
    if args.output:
        console.success(f"{rows} ligne(s) écrite(s) dans {args.output}.")
    return 0


def run_k8s_jobs(args, ctx: Context) -> int:
    import sys
    from dataclasses import replace

    import yaml

    from incubo import console
    from incubo.grading.k8s_jobs import JobOptions, manifests

    _check_course(ctx)
    options = replace(JobOptions(), batch=args.par, workers=args.workers, namespace=args.namespace)
    if args.image:
        options = replace(options, image=args.image)
    docs = manifests(ctx.course_dir, args.assignment, options)
    text = yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
        console.info(f"{len(docs) - 1} Job(s) écrits dans {args.output} : « kubectl apply -f {args.output} ».")
    else:
        sys.stdout.write(text)
    return 0
