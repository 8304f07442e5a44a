"""`incubo hub`: JupyterHub for one training room on this machine.

`incubo hub` starts the proxy (kept across restarts) and JupyterHub with the
room's configuration (`incubo.hub.config`); Ctrl+C or SIGTERM stops the hub
only, so learners keep their servers and their open labs. `incubo hub
prechauffer` starts the expected learners' servers before the session;
`incubo hub arreter` stops everything at the end of the day. `incubo hub
formateur NOM` sets a trainer's own password (shared-password room).
"""

from __future__ import annotations

import argparse
import logging

from incubo.config import Context

log = logging.getLogger(__name__)


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "hub",
        parents=[common],
        help="JupyterHub pour une salle de formation (comptes, proxy, préchauffage)",
        description="Lance le JupyterHub de la salle. Ctrl+C arrête le hub ; les serveurs des apprenants continuent.",
    )
    _room_options(p)
    p.set_defaults(func=run)
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions")
    _register_day(actions, common)
    _register_trainer(actions, common)
    _register_year(actions, common)


def _register_day(actions, common: argparse.ArgumentParser) -> None:
    """The session's day: servers warmed up before it, everything stopped after it."""
    warm = actions.add_parser(
        "prechauffer",
        parents=[common],
        help="démarrer à l'avance les serveurs des apprenants attendus",
        description="Démarre les serveurs des apprenants nommés (sinon de tous les utilisateurs connus du hub) "
        "pour qu'à l'heure de la séance la connexion ouvre un JupyterLab prêt.",
    )
    _room_options(warm)
    warm.add_argument("noms", nargs="*", metavar="NOM", help="identifiants des apprenants attendus")
    warm.add_argument(
        "--fichier", metavar="FICHIER", help="fichier texte : un identifiant par ligne"
    )
    warm.add_argument(
        "--parallele", type=int, default=4, metavar="N", help="démarrages simultanés (défaut : 4)"
    )
    warm.set_defaults(func=prechauffer)
    stop = actions.add_parser(
        "arreter",
        parents=[common],
        help="fin de journée : arrêter le hub, les serveurs des apprenants et le proxy",
    )
    _room_options(stop)
    stop.set_defaults(func=arreter)


def _register_trainer(actions, common: argparse.ArgumentParser) -> None:
    trainer = actions.add_parser(
        "formateur",
        parents=[common],
        help="définir (ou changer) le mot de passe personnel d'un formateur",
        description="Salle à mot de passe partagé : le mot de passe de la salle ne connecte jamais un "
        "formateur. Cette commande, lancée en root sur la machine du hub, définit le mot de passe "
        "personnel d'un formateur nommé dans INCUBO_HUB_FORMATEURS (lu sur l'entrée standard "
        "quand elle n'est pas un terminal, sinon demandé deux fois).",
    )
    trainer.add_argument("nom", metavar="NOM", help="identifiant du formateur sur le hub")
    trainer.set_defaults(func=formateur)


def _register_year(actions, common: argparse.ArgumentParser) -> None:
    """The room over a year: its state, backups, restore, installation as a system service."""
    state = actions.add_parser(
        "etat",
        parents=[common],
        help="la salle d'un coup d'œil : hub, proxy, services, apprenants, mémoire, traces en attente, disque",
    )
    state.add_argument(
        "--json", action="store_true", help="le même état en JSON (pour la supervision)"
    )
    state.set_defaults(func=etat)
    save = actions.add_parser(
        "sauvegarder",
        parents=[common],
        help="archive complète de la salle (hub, LRS, échange, carnet de notes, séances, dossiers des apprenants)",
        description="Écrit une archive de la salle dans DOSSIER, même pendant une séance.",
    )
    save.add_argument("dossier", metavar="DOSSIER", help="dossier où écrire l'archive")
    save.add_argument(
        "--garder",
        type=int,
        default=0,
        metavar="N",
        help="ne garder que les N archives les plus récentes",
    )
    save.set_defaults(func=sauvegarder)
    restore = actions.add_parser(
        "restaurer",
        parents=[common],
        help="restaurer une archive dans un dossier du hub neuf (INCUBO_HUB_DIR) et un dossier de cours neuf",
    )
    restore.add_argument(
        "archive", metavar="ARCHIVE", help="archive écrite par « incubo hub sauvegarder »"
    )
    restore.set_defaults(func=restaurer)
    setup = actions.add_parser(
        "installer",
        parents=[common],
        help="installer la salle comme service système (systemd) : démarrage avec la machine, sauvegarde chaque nuit",
    )
    _room_options(setup)
    setup.add_argument(
        "--dossier-services",
        metavar="DOSSIER",
        help="où écrire les services (défaut : /etc/systemd/system)",
    )
    setup.add_argument(
        "--garder",
        type=int,
        default=14,
        metavar="N",
        help="sauvegardes quotidiennes gardées (défaut : 14)",
    )
    setup.set_defaults(func=installer)


def _room_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--port",
        type=int,
        default=argparse.SUPPRESS,
        help="port public du hub (défaut : celui du dernier démarrage, sinon 8000)",
    )
    p.add_argument(
        "--ip",
        default=argparse.SUPPRESS,
        help="adresse d'écoute (défaut : 127.0.0.1 ; 0.0.0.0 pour les postes de la salle)",
    )


def settings_from(args, ctx: Context):
    from incubo.config import hub_settings

    return hub_settings(
        course_dir=ctx.course_dir,
        port=getattr(args, "port", None),
        ip=getattr(args, "ip", None),
    )


def settings_env(settings) -> dict[str, str]:
    """The settings as environment variables, for the hub process (which reads them again)."""
    env = {
        "INCUBO_HUB_DIR": settings.hub_dir,
        "INCUBO_HUB_AUTH": settings.auth,
        "INCUBO_HUB_FORMATEURS": ",".join(settings.formateurs),
        "INCUBO_HUB_DB_URL": settings.db_url,
        "INCUBO_COURSE_DIR": settings.course_dir,
        "INCUBO_COURSE_ID": settings.course_id,
        "INCUBO_HUB_IP": settings.ip,
        "INCUBO_HUB_PORT": settings.port,
        "INCUBO_HUB_API_PORT": settings.hub_port,
        "INCUBO_HUB_PROXY_API_PORT": settings.proxy_api_port,
        "INCUBO_HUB_PUBLIC_URL": settings.public_url,
        "INCUBO_HUB_HOME_BASE": settings.home_base,
        "INCUBO_HUB_SPAWNER": settings.spawner,
    }
    return {k: str(v) for k, v in env.items()}


def run(args, ctx: Context) -> int:
    from incubo.hub import room

    settings = settings_from(args, ctx)
    return room.serve(settings, settings_env(settings))


def prechauffer(args, ctx: Context) -> int:
    from incubo.hub import warmup

    settings = settings_from(args, ctx)
    names = list(args.noms)
    if args.fichier:
        names += warmup.read_names(args.fichier)
    return warmup.warm(settings, names, parallel=max(1, args.parallele))


def arreter(args, ctx: Context) -> int:
    from incubo.hub import room

    return room.stop_all(settings_from(args, ctx))


def read_password(stream=None) -> str:
    """The new password: one line of standard input when it is not a terminal, else asked twice."""
    import getpass
    import sys

    from incubo.errors import IncuboError

    stream = stream or sys.stdin
    if not stream.isatty():
        return stream.readline().rstrip("\r\n")
    first = getpass.getpass("Nouveau mot de passe du formateur : ")
    if getpass.getpass("Le même, une seconde fois : ") != first:
        raise IncuboError(
            "Les deux mots de passe diffèrent : rien n'a changé, recommencez.",
            code="formateur-confirmation",
        )
    return first


def formateur(args, ctx: Context) -> int:
    from incubo import console
    from incubo.hub import trainers

    settings = settings_from(args, ctx)
    name = trainers.set_password(settings, args.nom, read_password())
    console.success(
        f"Mot de passe du formateur « {name} » enregistré : il se connecte au hub avec celui-ci, "
        "jamais avec le mot de passe de la salle."
    )
    return 0


def etat(args, ctx: Context) -> int:
    import json

    from incubo.hub import health

    state = health.room_state(settings_from(args, ctx))
    print(json.dumps(state, ensure_ascii=False, indent=1) if args.json else health.render(state))
    return 0


def sauvegarder(args, ctx: Context) -> int:
    from pathlib import Path

    from incubo.hub import backup

    folder = Path(args.dossier).resolve()
    backup.backup(settings_from(args, ctx), folder)
    if args.garder > 0:
        backup.prune(folder, args.garder)
    return 0


def restaurer(args, ctx: Context) -> int:
    from pathlib import Path

    from incubo.hub import backup

    backup.restore(settings_from(args, ctx), Path(args.archive).resolve())
    return 0


def installer(args, ctx: Context) -> int:
    import os
    from pathlib import Path

    from incubo.hub import units

    settings = settings_from(args, ctx)
    env = dict(os.environ, **settings_env(settings))
    kwargs = {}
    if args.dossier_services:
        kwargs["unit_dir"] = Path(args.dossier_services).resolve()
        kwargs["env_file"] = kwargs["unit_dir"] / "salle.env"
    units.install(settings, env, keep=args.garder, **kwargs)
    return 0
