"""`incubo lab`: JupyterLab in French on the built course."""

from __future__ import annotations

import argparse

from incubo.config import Context


def register(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("lab", parents=[common], help="ouvrir JupyterLab (en français) sur le cours construit")
    p.add_argument("--port", type=int, default=8888, help="port d'écoute (défaut : 8888)")
    p.add_argument("--ip", default="127.0.0.1", help="adresse d'écoute (défaut : 127.0.0.1)")
    p.add_argument("--navigateur", action="store_true", help="ouvrir un navigateur au démarrage")
    p.set_defaults(func=run)


def run(args, ctx: Context) -> int:
    from incubo import lab

    return lab.serve(ctx.course_dir, ip=args.ip, port=args.port, open_browser=args.navigateur)
