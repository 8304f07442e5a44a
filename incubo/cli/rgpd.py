"""`incubo rgpd`: an agent's research choice, export, erasure, and the retention purge."""

from __future__ import annotations

import argparse
import sys

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "rgpd",
        parents=[common],
        help="données personnelles : choix pour la recherche, export, effacement, durée de conservation",
        description="Droits des agents sur leurs données (RGPD) : enregistrer un choix pour la recherche, "
        "exporter ou effacer tout ce qu'incubo garde d'un agent, supprimer les traces trop anciennes. "
        "Le registre des traitements est dans docs/rgpd/registre.md.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", title="actions")
    r = actions.add_parser(
        "recherche",
        parents=[common],
        help="enregistrer le choix d'un agent pour la recherche (demande faite sur papier)",
    )
    r.add_argument("nom", metavar="NOM", help="identifiant de connexion de l'agent")
    r.add_argument(
        "choix", metavar="oui|non", choices=["oui", "non"], help="oui : inclus ; non : exclu"
    )
    r.add_argument(
        "--nouveau",
        action="store_true",
        help="l'agent n'a encore rien fait ici (pas de trace, pas de compte) : enregistrer quand même",
    )
    r.set_defaults(func=run_choice)
    e = actions.add_parser(
        "exporter",
        parents=[common],
        help="écrire dans un dossier tout ce qu'incubo garde d'un agent",
    )
    e.add_argument("nom", metavar="NOM", help="identifiant de connexion de l'agent")
    e.add_argument("-o", "--sortie", metavar="DOSSIER", required=True, help="dossier de l'export")
    e.set_defaults(func=run_export)
    d = actions.add_parser(
        "effacer", parents=[common], help="effacer tout ce qu'incubo garde d'un agent"
    )
    d.add_argument("nom", metavar="NOM", help="identifiant de connexion de l'agent")
    d.add_argument("--oui", action="store_true", help="ne pas demander de confirmation (scripts)")
    d.set_defaults(func=run_erase)
    g = actions.add_parser(
        "purger",
        parents=[common],
        help="supprimer les traces plus anciennes que INCUBO_CONSERVATION_MOIS mois",
    )
    g.add_argument(
        "--simulation",
        action="store_true",
        help="dire combien seraient supprimées, sans rien supprimer",
    )
    g.set_defaults(func=run_purge)
    p.set_defaults(func=lambda args, ctx: _help(p))


def _help(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_choice(args, ctx: Context) -> int:
    from incubo import console, rgpd
    from incubo.errors import IncuboError

    rgpd.research_base()
    if not args.nouveau and not _known(args.nom, ctx):
        # a misspelt name would be recorded for nobody, and the real agent left as they were
        raise IncuboError(
            f"Aucun agent « {args.nom} » ici (ni trace, ni note, ni compte) : vérifiez le nom (celui "
            "de sa connexion) ; pour un agent qui ne s'est pas encore connecté, ajoutez --nouveau.",
            code="agent-inconnu",
        )
    rgpd.record_choice(args.nom, args.choix == "oui", source="formateur")
    what = "inclus dans" if args.choix == "oui" else "exclu de"
    console.success(
        f"Choix enregistré : « {args.nom} » est {what} la recherche (registre {rgpd.store_dir()})."
    )
    return 0


def run_export(args, ctx: Context) -> int:
    from pathlib import Path

    from incubo import console
    from incubo.errors import IncuboError
    from incubo.rgpd_export import gather, write
    from incubo.rgpd_places import places

    out = Path(args.sortie).expanduser().resolve()
    if out.exists() and any(out.iterdir()):
        raise IncuboError(
            f"Le dossier {out} n'est pas vide : choisissez un dossier nouveau ou vide.",
            code="sortie-non-vide",
        )
    data = gather(args.nom, places(ctx.course_dir))
    if data.empty:
        raise IncuboError(
            f"Aucune donnée sur l'agent « {args.nom} » ici : vérifiez le nom (celui de sa connexion).",
            code="agent-inconnu",
        )
    out.mkdir(parents=True, exist_ok=True, mode=0o700)  # personal data: its reader only
    counts = write(data, out)
    console.success(
        f"Export écrit dans {out} : {counts['traces']} traces, {counts['notes']} notes, "
        f"{counts['fichiers']} fichiers (lisez LISEZMOI.md)."
    )
    return 0


def _known(agent: str, ctx: Context) -> bool:
    """Whether incubo holds anything of `agent`: a choice or a notice read, data, or a hub user."""
    from incubo import rgpd
    from incubo.rgpd_export import gather
    from incubo.rgpd_places import places

    if agent in rgpd.known_agents():
        return True
    if rgpd.on_hub() and _hub().check(agent):
        return True
    return not gather(agent, places(ctx.course_dir)).empty


class _NoHub:
    """One machine: no account, no hub user."""

    def account_of(self, agent: str) -> str | None:
        return None

    def check(self, agent: str) -> bool:
        return False

    remove = None

    def refresh(self) -> None:
        pass


class _Hub:
    """A room's hub: its Unix accounts, its JupyterHub users and its logs (`incubo.hub.rgpd_hub`)."""

    def __init__(self) -> None:
        from incubo.config import hub_settings

        self.settings = hub_settings()
        self.known: dict[str, bool] = {}

    def account_of(self, agent: str) -> str | None:
        from incubo.hub import rgpd_hub

        return rgpd_hub.account_of(agent)

    def check(self, agent: str) -> bool:
        """Read the hub's database before anything is deleted (a French error if it cannot)."""
        from incubo.hub import rgpd_hub

        self.known[agent] = rgpd_hub.in_hub(self.settings, agent)
        return self.known[agent]

    def remove(self, agent: str) -> None:
        from incubo.hub import accounts, rgpd_hub

        unix = accounts.unix_name(agent)
        if self.known.get(agent):
            rgpd_hub.remove_hub_user(self.settings, agent)
        accounts.remove_account(agent)
        # the hub names a user's OAuth client « jupyterhub-user-<name> » in its log
        rgpd_hub.scrub_logs(self.settings, [f"jupyterhub-user-{agent}", agent, unix])

    def refresh(self) -> None:
        from incubo.hub import rgpd_hub

        rgpd_hub.refresh_dashboard(self.settings)


def _hub():
    from incubo import rgpd

    return _Hub() if rgpd.on_hub() else _NoHub()


def run_erase(args, ctx: Context) -> int:
    from incubo import console
    from incubo.errors import IncuboError
    from incubo.rgpd_erase import execute, plan
    from incubo.rgpd_places import places

    where = places(ctx.course_dir)
    hub = _hub()
    found = plan(args.nom, where, account_of=hub.account_of, in_hub=hub.check)
    summary = (
        f"{len(found.data.statements)} traces, {len(found.data.grades)} notes, "
        f"{len(found.data.folders)} dossiers de copies"
        + (f", le compte {found.account} et son dossier personnel" if found.account else "")
    )
    if not args.oui:
        if not sys.stdin.isatty():
            raise IncuboError(
                "Confirmation impossible sans terminal : ajoutez --oui pour effacer depuis un script.",
                code="confirmation-requise",
            )
        console.info(f"Seront effacés pour « {found.agent} » : {summary}.")
        answer = input(f"Tapez le nom « {found.agent} » pour confirmer l'effacement : ").strip()
        if answer != found.agent:
            raise IncuboError("Effacement annulé : rien n'a été effacé.", code="annule")
    removed = execute(found, where, remove_account=hub.remove)
    hub.refresh()  # a running room's dashboard drops the agent now
    console.success(
        f"Données de l'agent effacées ({summary}) ; une entrée sans nom a été ajoutée au registre "
        f"des effacements ({removed['traces']} traces supprimées)."
    )
    return 0


def run_purge(args, ctx: Context) -> int:
    from incubo import console, rgpd
    from incubo.rgpd_erase import purge
    from incubo.rgpd_places import places

    months = rgpd.retention_months()
    cutoff, counts = purge(places(ctx.course_dir), months, simulation=args.simulation)
    if rgpd.on_hub():  # each learner's own journal and spool, purged as that learner
        from incubo.config import hub_settings
        from incubo.hub import rgpd_hub

        in_homes, failed = rgpd_hub.purge_homes(hub_settings(), cutoff, simulation=args.simulation)
        counts.update(in_homes)
        for home in failed:
            console.warning(f"le journal du dossier {home} n'a pas pu être purgé (voir --debug).")
    total = sum(counts.values())
    from incubo.french_time import french_clock, french_date, local, zone_label

    day = local(cutoff)
    when = f"{french_date(day.date())} {day.year}, {french_clock(day)} ({zone_label()}"
    detail = "".join(f"\n  {where} : {n}" for where, n in counts.items())
    if args.simulation:
        console.info(
            f"Simulation : {total} traces antérieures au {when}, conservation {months} mois) "
            f"seraient supprimées ; rien n'a été modifié.{detail}"
        )
    else:
        console.success(
            f"{total} traces antérieures au {when}, conservation {months} mois) supprimées.{detail}"
        )
    print(total)
    return 0
