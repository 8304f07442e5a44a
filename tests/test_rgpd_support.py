"""Helpers of test_rgpd: an agent planted in every place incubo keeps data, demo data read in-process."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
import warnings
from pathlib import Path

from incubo import xapi


@contextlib.contextmanager
def environment(env: dict[str, str]):
    """`os.environ` as the command line would see it (settings are read at each call)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def open_demo_data(env: dict[str, str], course: Path, registration: str = ""):
    """The reports' tables of the demo cohort, as a research notebook gets them (demo key)."""
    from incubo.reports import privacy
    from incubo.reports.load import open_data

    with environment(env):
        return open_data(
            str(course),
            str(course / "evenements"),
            k=2,
            key=privacy.DEMO_KEY,
            registration=registration,
        )


def plant_agent(agent: str, lrs, course: Path, hub: Path, homes: Path, env: dict) -> str:
    """Put `agent` in every place: LRS, journal, spool, gradebook, copies, exchange, store, account."""
    from nbgrader.api import Gradebook

    from incubo import rgpd
    from incubo.hub import accounts

    demo = course / "evenements" / "demo.jsonl"
    model = [json.loads(line) for line in demo.read_text().splitlines()[:12]]
    mine = []
    for stmt in model:
        stmt = dict(stmt, id=str(uuid.uuid4()))
        stmt["actor"] = xapi.actor(agent, "http://localhost")
        mine.append(stmt)
    from test_rgpd import post

    post(lrs, mine)
    with demo.open("a", encoding="utf-8") as fh:
        fh.writelines(json.dumps(s, ensure_ascii=False) + "\n" for s in mine[:6])
    spool = Path(env["HOME"]) / ".incubo" / "file-attente"
    spool.mkdir(parents=True, exist_ok=True)
    extra = dict(mine[0], id=str(uuid.uuid4()))
    (spool / f"00000000000000000001-{extra['id']}.json").write_text(json.dumps(extra))
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush notices
        gb.add_student(agent, first_name="Agent", last_name=agent, email=f"{agent}@example.org")
        gb.add_submission(gb.assignments[0].name, agent)
    for stage, name in (("submitted", "copie.ipynb"), ("autograded", "copie.ipynb")):
        folder = course / stage / agent / "module"
        folder.mkdir(parents=True)
        (folder / name).write_text(json.dumps({"auteur": agent}))
    (course / "feedback" / agent / "module").mkdir(parents=True)
    (course / "feedback" / agent / "module" / "copie.html").write_text(f"<p>{agent}</p>")
    with (course / "apprenants.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{agent},Agent,Test,{agent}@example.org,DREAL,31,40-49 ans,2026-automne\n")
    for sub in ("inbound", "feedback"):
        folder = hub / "exchange" / "incubo" / sub / agent
        folder.mkdir(parents=True)
        (folder / f"{agent}+module+2026.txt").write_text(agent)
    with environment(env):
        rgpd.acknowledge(agent)
        unix, home = accounts.ensure_account(agent, homes)
    hub_user(hub / "jupyterhub.sqlite", agent)
    hub_user(hub / "jupyterhub.sqlite", "autre-apprenant")
    (hub / "logs").mkdir()
    (hub / "logs" / "jupyterhub.log").write_text(
        f"[I 12:00] 200 GET /hub/api/users/{agent} (autre-apprenant@127.0.0.1)\n"
        f"[I 12:01] Spawning jupyterhub-singleuser as {unix}\n"
        "[I 12:02] 200 GET /user/autre-apprenant/lab\n"
    )
    (home / "notes-perso.txt").write_text(f"brouillon de {agent}")
    return unix


def hub_user(db_path: Path, name: str) -> None:
    """A JupyterHub user with a server and its OAuth client, in a real hub database."""
    from jupyterhub import orm

    db = orm.new_session_factory(f"sqlite:///{db_path}")()
    try:
        user = orm.User(name=name)
        db.add(user)
        db.commit()
        client = orm.OAuthClient(
            identifier=f"jupyterhub-user-{name}",
            description=f"Server at /user/{name}/",
            redirect_uri=f"/user/{name}/oauth_callback",
        )
        db.add(client)
        spawner = orm.Spawner(name="", user=user, oauth_client=client)
        db.add(spawner)
        db.commit()
    finally:
        db.close()
