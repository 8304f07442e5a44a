"""`incubo grade`: autograde (parallel, sandboxed, resumable), feedback, export."""

from __future__ import annotations

import argparse

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    """`incubo grade ACTION`: one small function per action below."""
    grade = sub.add_parser(
        "grade",
        parents=[common],
        help="corriger les copies, produire les retours, exporter les notes",
    )
    gsub = grade.add_subparsers(
        dest="action", metavar="ACTION", title="actions", parser_class=type(grade)
    )
    _add_autograde(gsub, common)
    _add_feedback(gsub, common)
    _add_release(gsub, common)
    _add_collect(gsub, common)
    _add_export(gsub, common)
    _add_k8s_jobs(gsub, common)
    grade.set_defaults(func=lambda args, ctx: _missing_action(grade))


def _add_autograde(gsub, common: argparse.ArgumentParser) -> None:
    """`incubo grade autograde DEVOIR`: nbgrader in parallel, one sandboxed kernel per notebook."""
    from incubo.grading.limits import HELP_TEXT_FR

    p = gsub.add_parser(
        "autograde",
        parents=[common],
        help="corriger automatiquement les copies rendues d'un devoir (en parallèle, dans un bac à sable)",
        description="Corrige les copies de submitted/ avec nbgrader, chaque notebook dans un noyau isolé. "
        "Une correction interrompue reprend là où elle s'était arrêtée. " + HELP_TEXT_FR,
    )
    p.add_argument("assignment", metavar="DEVOIR", help="nom du devoir (module)")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="notebooks exécutés en même temps (défaut : un par cœur)",
    )
    p.add_argument(
        "--student", default=None, metavar="ID", help="ne corriger que la copie de cet apprenant"
    )
    p.add_argument(
        "--progression",
        default=None,
        metavar="FICHIER",
        help="écrire l'avancement (JSON : copies corrigées sur le total) dans ce fichier, "
        "réécrit après chaque copie (la page « Devoirs » le lit)",
    )
    p.set_defaults(func=run_autograde)


def _add_feedback(gsub, common: argparse.ArgumentParser) -> None:
    """`incubo grade feedback DEVOIR`: French HTML feedback, optionally handed back through the exchange."""
    p = gsub.add_parser(
        "feedback",
        parents=[common],
        help="produire les retours HTML en français, sans tests cachés",
    )
    p.add_argument("assignment", metavar="DEVOIR", help="nom du devoir (module)")
    p.add_argument(
        "--student", default=None, metavar="ID", help="ne produire que le retour de cet apprenant"
    )
    p.add_argument(
        "--release",
        action="store_true",
        help="rendre ensuite chaque retour à son apprenant par l'échange du hub (il le récupère depuis « Assignments »)",
    )
    p.set_defaults(func=run_feedback)


def _add_release(gsub, common: argparse.ArgumentParser) -> None:
    """`incubo grade release MODULE`: a module into the hub's exchange."""
    p = gsub.add_parser(
        "release",
        parents=[common],
        help="distribuer un module aux apprenants du hub (il arrive dans leur dossier en quelques secondes)",
        description="Copie release/MODULE dans l'échange du hub (INCUBO_HUB_DIR). Chaque apprenant le reçoit "
        "dans son dossier en quelques secondes si son espace est démarré (préchauffé ou connecté), sinon à sa "
        "prochaine connexion.",
    )
    p.add_argument("assignment", metavar="MODULE", help="nom du module (devoir nbgrader)")
    p.add_argument("--force", action="store_true", help="remplacer un module déjà distribué")
    p.add_argument(
        "--echeance",
        default=None,
        metavar="DATE",
        help="date et heure limites de rendu, heure de la salle (« 2026-12-12 17:00 »)",
    )
    p.add_argument(
        "--retard",
        default=None,
        metavar="accepter|refuser",
        help="après l'échéance : accepter la copie (signalée en retard, par défaut) ou la refuser",
    )
    p.set_defaults(func=run_release)


def _add_collect(gsub, common: argparse.ArgumentParser) -> None:
    """`incubo grade collect MODULE`: the learners' last submissions from the hub's exchange."""
    p = gsub.add_parser(
        "collect",
        parents=[common],
        help="ramasser les copies rendues sur le hub (la dernière de chaque apprenant)",
        description="Copie la dernière copie rendue de chaque apprenant depuis l'échange du hub "
        "(INCUBO_HUB_DIR) vers submitted/, prête pour « incubo grade autograde ».",
    )
    p.add_argument("assignment", metavar="MODULE", help="nom du module (devoir nbgrader)")
    p.set_defaults(func=run_collect)


def _add_export(gsub, common: argparse.ArgumentParser) -> None:
    """`incubo grade export`: the grades as CSV (French Excel, standard or Moodle)."""
    p = gsub.add_parser(
        "export",
        parents=[common],
        help="exporter les notes en CSV (une ligne par apprenant et devoir)",
        description="Écrit un fichier CSV qui s'ouvre en colonnes dans Excel en français "
        "(séparateur point-virgule, virgule décimale, UTF-8 avec BOM), ou le CSV standard, ou le format d'import de Moodle.",
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FICHIER",
        help="fichier CSV à écrire (défaut : la sortie standard)",
    )
    flavour = p.add_mutually_exclusive_group()
    flavour.add_argument(
        "--csv-standard",
        action="store_true",
        help="CSV standard pour les scripts (virgules, point décimal, UTF-8 sans BOM) au lieu du format Excel en français",
    )
    flavour.add_argument(
        "--moodle", action="store_true", help="format d'import des notes de Moodle"
    )
    p.add_argument("--assignment", default=None, metavar="DEVOIR", help="n'exporter que ce devoir")
    p.set_defaults(func=run_export)


def _add_k8s_jobs(gsub, common: argparse.ArgumentParser) -> None:
    """`incubo grade k8s-jobs DEVOIR`: the region's Kubernetes Jobs that grade an assignment."""
    p = gsub.add_parser(
        "k8s-jobs",
        parents=[common],
        help="écrire les Jobs Kubernetes qui corrigent un devoir pour toute la région (un Job par lot de copies)",
        description="Écrit un fichier YAML (une NetworkPolicy, puis un Job par lot de copies rendues) "
        "à appliquer avec « kubectl apply -f ». Voir deploy/README.md, « La région (Kubernetes) ».",
    )
    p.add_argument("assignment", metavar="DEVOIR", help="nom du devoir (module)")
    p.add_argument("--par", type=int, default=25, metavar="N", help="copies par Job (défaut : 25)")
    p.add_argument(
        "--workers",
        type=int,
        default=2,
        metavar="N",
        help="noyaux en même temps dans un Job (défaut : 2)",
    )
    p.add_argument(
        "--image",
        default=None,
        metavar="IMAGE",
        help="image de correction (incubo installé, bubblewrap)",
    )
    p.add_argument(
        "--namespace",
        default="incubo",
        metavar="NOM",
        help="espace de noms Kubernetes (défaut : incubo)",
    )
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="FICHIER",
        help="fichier YAML à écrire (défaut : la sortie standard)",
    )
    p.set_defaults(func=run_k8s_jobs)


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


def _as_owner_of(path) -> None:
    """As root on the hub: this command runs as the account that owns `path` (incubo.hub.privileges)."""
    from incubo.hub.privileges import as_owner_of

    as_owner_of(path)


def _sandbox_for_owner(ctx: Context) -> None:
    """As root on the hub, before becoming the grader: its kernels must get a sandbox.

    Without one, learners' code would run with the grader's rights (the gradebook, every
    submission): refused, in French, like root without a sandbox (grading.autograde).
    """
    import os

    if os.geteuid() != 0:
        return
    from incubo.errors import IncuboError
    from incubo.grading.limits import load_limits
    from incubo.grading.sandbox import bwrap_works
    from incubo.hub.privileges import owner_of

    owner = owner_of(ctx.course_dir)
    if owner is None:
        return
    if not (load_limits(ctx.course_dir).isolation and bwrap_works(owner.pw_uid, owner.pw_gid)):
        raise IncuboError(
            f"Refusé : la correction tournerait sous le compte « {owner.pw_name} » sans bac à sable, "
            "et le code des apprenants aurait ses droits (carnet de notes, copies). Installez bubblewrap "
            "(« apt-get install bubblewrap »), autorisez les espaces de noms utilisateur "
            "(sysctl kernel.unprivileged_userns_clone=1) et laissez « isolation: true » dans "
            "incubo_grading.yml.",
            code="correction-sans-bac-a-sable",
        )


def run_autograde(args, ctx: Context) -> int:
    from incubo import console
    from incubo.errors import IncuboError
    from incubo.grading.autograde import autograde

    _check_course(ctx)
    _sandbox_for_owner(ctx)
    _as_owner_of(ctx.course_dir)
    if ctx.debug:
        import logging

        logging.getLogger("incubo.grading.nbgrader").setLevel(logging.DEBUG)
    if args.workers is not None and args.workers < 1:
        raise IncuboError("--workers doit être un nombre entier positif.", code="option-invalide")
    summary = autograde(
        ctx.course_dir,
        args.assignment,
        workers=args.workers,
        student=args.student,
        progress_file=args.progression,
    )
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
    _as_owner_of(ctx.course_dir)
    written = generate_feedback(ctx.course_dir, args.assignment, student=args.student)
    console.success(f"{len(written)} retour(s) écrit(s) dans {ctx.course_dir / 'feedback'}.")
    if args.release:
        from incubo.grading.exchange_ops import release_feedback

        done = release_feedback(
            ctx.course_dir, _exchange(ctx), args.assignment, student=args.student
        )
        console.success(
            f"Retours rendus à {len(done)} apprenant(s) : ils les récupèrent depuis l'onglet « Assignments »."
        )
    return 0


def _exchange(ctx: Context):
    """The hub's exchange for this course: INCUBO_HUB_DIR (incubo.config), course id from the course directory."""
    from incubo.config import hub_dir
    from incubo.exchange import ExchangeLayout
    from incubo.grading.build_nbgrader import merged_config

    course_id = str(
        merged_config(ctx.course_dir).CourseDirectory.get("course_id", "incubo") or "incubo"
    )
    return ExchangeLayout(hub_dir() / "exchange", course_id)


def _deadline_of(args):
    """The release's `Deadline` from --echeance / --retard (None without a due date)."""
    from incubo import deadlines
    from incubo.errors import IncuboError

    if args.echeance is None:
        if args.retard is not None:
            raise IncuboError(
                "--retard n'a de sens qu'avec une échéance : ajoutez --echeance « 2026-12-12 17:00 ».",
                code="retard-sans-echeance",
            )
        return None
    late = deadlines.parse_policy(args.retard) if args.retard else deadlines.ACCEPT
    return deadlines.Deadline(deadlines.parse_due(args.echeance), late)


def run_release(args, ctx: Context) -> int:
    from incubo import console
    from incubo.grading.exchange_ops import release_with_deadline

    _check_course(ctx)
    deadline = _deadline_of(args)  # a bad date is refused before anything is released
    exchange = _exchange(ctx)
    _as_owner_of(exchange.outbound)  # the services account: a séance unlocks notebooks there too
    dest = release_with_deadline(
        ctx.course_dir, exchange, args.assignment, force=args.force, deadline=deadline
    )
    console.success(
        f"Module « {args.assignment} » distribué ({dest}) : chaque apprenant le reçoit dans son dossier en quelques secondes (à sa prochaine connexion si son espace est arrêté)."
    )
    if deadline is not None:
        console.info(f"Échéance : {deadline_french(deadline)}.")
    return 0


def deadline_french(deadline) -> str:
    """« à rendre avant samedi 12 décembre, 17 h 00 ; copie en retard refusée »."""
    from incubo import deadlines

    rule = "refusée" if deadline.late == deadlines.REFUSE else "acceptée, signalée en retard"
    return f"{deadline.french()} ; copie en retard {rule}"


def run_collect(args, ctx: Context) -> int:
    from incubo import console
    from incubo.grading.exchange_ops import collect_module

    _check_course(ctx)
    exchange = _exchange(ctx)
    _as_owner_of(ctx.course_dir)
    summary = collect_module(ctx.course_dir, exchange, args.assignment)
    for line in summary.skipped:  # links, FIFOs, files over the caps: left in the exchange
        console.warning(line)
    for line in summary.refused:  # late policy « refuser »
        console.warning(line)
    if summary.late:
        console.warning(f"Rendu(s) en retard, ramassé(s) : {', '.join(summary.late)}.")
    if not summary.collected and not summary.unchanged:
        console.warning(f"Aucune copie rendue pour « {args.assignment} » pour l'instant.")
    console.success(
        f"{len(summary.collected)} copie(s) ramassée(s), {len(summary.unchanged)} déjà à jour, "
        f"dans {ctx.course_dir / 'submitted'}. Ensuite : « incubo grade autograde {args.assignment} »."
    )
    return 0


def run_export(args, ctx: Context) -> int:
    from incubo import console
    from incubo.grading.export import export_grades

    _check_course(ctx)
    rows = export_grades(
        ctx.course_dir,
        args.output,
        moodle=args.moodle,
        assignment=args.assignment,
        plain=args.csv_standard,
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
        console.info(
            f"{len(docs) - 1} Job(s) écrits dans {args.output} : « kubectl apply -f {args.output} »."
        )
    else:
        sys.stdout.write(text)
    return 0
