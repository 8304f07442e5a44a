"""`incubo hub` on a real PostgreSQL (INCUBO_HUB_DB_URL): it starts, a learner logs in, a restart keeps them.

The region runs its hub on PostgreSQL (Kubernetes: the hub pod has no disk of
its own); this is the same hub as the room's, pointed at a temporary cluster.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from hub_support import start_hub
from postgres_support import postgres_cluster

from incubo.hub import accounts


@pytest.fixture(scope="module")
def pg():
    with postgres_cluster() as cluster:
        yield cluster


def names_in(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(sa.text("SELECT name FROM users"))}
    finally:
        engine.dispose()


def test_hub_runs_on_postgresql_and_keeps_its_users_across_a_restart(pg):
    url = pg.create_database("hub")
    name = None
    with start_hub(extra_env={"INCUBO_HUB_DB_URL": url}) as hub:
        try:
            assert not (hub.hub_dir / "jupyterhub.sqlite").exists(), (
                "no SQLite file: the state is in PostgreSQL"
            )
            name = hub.new_user()
            lab = hub.lab(name)
            out = lab.run("import getpass; print(getpass.getuser())")
            assert out["error"] is None and out["stdout"].strip() == hub.unix_user(name)
            assert name in names_in(url)
            hub.stop()
            hub.start()
            model = hub.user_model(name)
            assert model["name"] == name and model["servers"][""]["ready"], model
        finally:
            if name:
                accounts.remove_account(name)
