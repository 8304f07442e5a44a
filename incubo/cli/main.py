"""Entry point of `incubo`: parses the command line and runs one subcommand.

Each subcommand lives in its own module of `incubo.cli` and exposes
``register(subparsers, common)``; heavy imports happen inside the handler,
so `incubo --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from incubo import __version__, console
from incubo.cli.french_argparse import FrenchParser
from incubo.config import Context, course_dir
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

#: Subcommand modules, in the order `--help` lists them.
COMMAND_MODULES = [
    "build",
    "lab",
    "grade",
    "events",
    "apps",
    "report",
    "demo_data",
    "hub",
    "seance",
    "rgpd",
]


def common_options() -> argparse.ArgumentParser:
    """Options every command accepts, before or after the subcommand name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--course-dir",
        metavar="DOSSIER",
        default=argparse.SUPPRESS,
        help="dossier de cours nbgrader (sinon $INCUBO_COURSE_DIR, sinon le dossier courant s'il en est un, sinon ./_build/cours)",
    )
    common.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,
        help="afficher le détail technique des erreurs",
    )
    return common


def make_parser() -> FrenchParser:
    common = common_options()
    parser = FrenchParser(
        prog="incubo",
        description="incubo : parcours d'acculturation au code, exercices notés, applications et rapports de recherche.",
        parents=[common],
    )
    parser.add_argument(
        "--version", action="version", version=f"incubo {__version__}", help="afficher la version"
    )
    sub = parser.add_subparsers(
        dest="commande", metavar="COMMANDE", title="commandes", parser_class=FrenchParser
    )
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"incubo.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"incubo.cli.{name}":
                continue  # not built yet
            raise
        module.register(sub, common)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    debug = "--debug" in argv
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        parser = make_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return 2
        ctx = Context(course_dir=course_dir(getattr(args, "course_dir", None)), debug=debug)
        return int(args.func(args, ctx) or 0)
    except IncuboError as exc:
        if debug:
            raise
        console.error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        console.error("interrompu.")
        return 130
    except Exception as exc:  # last resort: never a traceback for users
        if debug:
            raise
        console.error(
            f"une erreur inattendue s'est produite ({type(exc).__name__} : {exc}). "
            "Relancez la commande avec --debug pour le détail technique."
        )
        return 70


if __name__ == "__main__":
    sys.exit(main())
