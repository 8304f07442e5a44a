"""Hub user names for ProConnect agents: one rule, stable across logins.

The rule (also in deploy/README.md):

1. take the part of the e-mail before ``@``;
2. lower case, accents removed (``é`` → ``e``, ``ç`` → ``c``, ``œ`` → ``oe``);
3. every run of other characters than ``a-z`` and ``0-9`` becomes one ``-``,
   with no ``-`` at either end;
4. a name that does not start with a letter gets ``agent-`` in front
   (an empty one becomes ``agent``);
5. cut to 20 characters;
6. if another agent already holds that name, add ``-2``, ``-3``, …

So ``Élodie.Martin@interieur.gouv.fr`` → ``elodie-martin``, and a second
``elodie.martin@…`` of another administration → ``elodie-martin-2``. The
result is a valid Unix user name and a valid Kubernetes (DNS-1123) label,
with room for a prefix.

An agent is recognised by ProConnect's ``sub`` *and* ``idp_id`` (``sub`` is
only unique per identity provider); the name given at the first login is
kept even if the e-mail later changes. The mapping lives in the hub's own
database (SQLite in the hub folder, or PostgreSQL on Kubernetes, where the
hub has no disk of its own), in a table of its own.

A hub name is handed out first come, so it never carries a right: trainers
are recognised by their e-mail or `sub` (`incubo.hub.trainers`), never by the
name this module gives them.
"""

from __future__ import annotations

import logging
import re
import unicodedata

import sqlalchemy as sa

log = logging.getLogger(__name__)

MAX_BASE = 20
_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "đ": "d", "ł": "l"})

metadata = sa.MetaData()
agents = sa.Table(
    "incubo_proconnect_agents",
    metadata,
    sa.Column("sub", sa.String(255), primary_key=True),
    sa.Column("idp_id", sa.String(255), primary_key=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), server_default=sa.func.now()),
)


def base_name(email: str) -> str:
    """Steps 1–5 of the rule: the name an agent gets when nobody holds it yet."""
    local = email.split("@", 1)[0].lower().translate(_LIGATURES)
    ascii_ = unicodedata.normalize("NFKD", local).encode("ascii", "ignore").decode()
    name = re.sub(r"[^a-z0-9]+", "-", ascii_).strip("-")
    if not name:
        return "agent"
    if not name[0].isalpha():
        name = f"agent-{name}"
    return name[:MAX_BASE].rstrip("-")


class AgentDirectory:
    """Who is who: `(sub, idp_id)` → hub user name, kept in a SQL table."""

    def __init__(self, db_url: str, **engine_kwargs) -> None:
        self.engine = sa.create_engine(db_url, **engine_kwargs)
        metadata.create_all(self.engine, checkfirst=True)

    def hub_name(self, sub: str, idp_id: str, email: str) -> str:
        """The agent's hub name: the one already given, or a new one by the rule (step 6 on collision)."""
        with self.engine.begin() as db:
            row = db.execute(
                sa.select(agents.c.name).where(agents.c.sub == sub, agents.c.idp_id == idp_id)
            ).first()
        if row:
            return row.name
        base = base_name(email)
        for n in range(1, 10_000):
            candidate = base if n == 1 else f"{base}-{n}"
            try:
                with self.engine.begin() as db:
                    db.execute(
                        agents.insert().values(
                            sub=sub, idp_id=idp_id, name=candidate, email=email.lower()
                        )
                    )
            except sa.exc.IntegrityError:
                with self.engine.begin() as db:
                    row = db.execute(
                        sa.select(agents.c.name).where(
                            agents.c.sub == sub, agents.c.idp_id == idp_id
                        )
                    ).first()
                if row:  # the same agent logged in twice at once
                    return row.name
                continue
            log.info("new agent %s (idp %s) named %s", sub, idp_id, candidate)
            return candidate
        raise RuntimeError(f"no free name for {base}")

    def close(self) -> None:
        self.engine.dispose()
