"""The LRS gate stamps a séance's statements with its registration, in front of a real Ralph.

The gate's tornado app runs in a thread of the test; Ralph is the real one
(`make ralph`). A statement stamped within a séance's window (open or closed)
is stored with the séance as `context.registration`, a cohort's registration
moving to the `registration-cohorte` extension; anything stamped outside every
window is stored as sent; ids never change.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from harness import free_port
from test_lrs import PASSWORD, RALPH_BIN, USER, Ralph

from incubo import seance, xapi
from incubo.hub import lrs_keys
from incubo.hub.lrs_gate import Gate, make_app

HOMEPAGE = "http://salle.test"
PREFIX = "/services/lrs/"
COHORT = str(uuid.uuid5(uuid.NAMESPACE_URL, "incubo:cohorte:2026-automne"))
XAPI = {"X-Experience-API-Version": "1.0.3"}


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class GateThread:
    """The gate's tornado app on a free port, in its own event loop."""

    def __init__(self, hub_dir, ralph_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{PREFIX}xAPI/statements"
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start() -> None:
            gate = Gate(
                lrs_keys.gate_secret(hub_dir),
                ralph_url,
                f"{USER}:{PASSWORD}",
                HOMEPAGE,
                PREFIX,
                hub_dir=hub_dir,
            )
            self.server = make_app(gate).listen(self.port, "127.0.0.1")
            ready.set()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(start())
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(10), "the gate did not start"

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.stop)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def room(tmp_path_factory, session_env):
    """A hub folder with two séances (one closed, one open), a real Ralph, the gate in front."""
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    base = tmp_path_factory.mktemp("seance-gate")
    hub_dir = base / "hub"
    hub_dir.mkdir()
    now = datetime.now(UTC)
    closed = seance.Seance(
        code="KT7MQA",
        registration=str(uuid.uuid4()),
        module="m1",
        parcours="pp",
        title="Module 1",
        opened_at=iso(now - timedelta(days=1, hours=2)),
        closed_at=iso(now - timedelta(days=1)),
        steps=["01-lecon"],
    )
    opened = seance.Seance(
        code="HC4X9P",
        registration=str(uuid.uuid4()),
        module="m2",
        parcours="pp",
        title="Module 2",
        opened_at=iso(now - timedelta(minutes=30)),
        steps=["02-lecon"],
    )
    seance.save(hub_dir, closed)
    seance.save(hub_dir, opened)
    lrs = Ralph(base / "ralph", session_env)
    lrs.start()
    gate = GateThread(hub_dir, lrs.url)
    try:
        yield hub_dir, lrs, gate, closed, opened, now
    finally:
        gate.stop()
        lrs.stop()


def statement(name: str, at: datetime, registration: str | None = COHORT, **kw) -> dict:
    stmt = xapi.statement(
        "experienced",
        parcours="pp",
        module="m1",
        kind="lecon",
        ident="01-lecon",
        actor_name=name,
        homepage=HOMEPAGE,
        timestamp=iso(at),
        registration=registration,
        **kw,
    )
    if registration is None:
        stmt["context"].pop("registration", None)
    return stmt


def post(hub_dir, gate: GateThread, name: str, body) -> requests.Response:
    user, password = lrs_keys.learner_auth(lrs_keys.gate_secret(hub_dir), name).split(":", 1)
    return requests.post(gate.url, json=body, auth=(user, password), headers=XAPI, timeout=30)


def stored(lrs: Ralph) -> dict[str, dict]:
    return {s["id"]: s for s in lrs.statements()}


def test_statements_of_a_seance_carry_its_registration_and_keep_their_cohort(room):
    hub_dir, lrs, gate, closed, opened, now = room
    during_closed = statement("alice", now - timedelta(days=1, hours=1))  # a spool delivering late
    during_open = statement("alice", now - timedelta(minutes=1), registration=None)
    before = statement("alice", now - timedelta(days=3))
    batch = [during_closed, during_open, before]
    sent = {s["id"]: s for s in batch}
    r = post(hub_dir, gate, "alice", batch)
    assert r.status_code == 200, r.text
    assert r.json() == [s["id"] for s in batch]  # ids unchanged
    found = stored(lrs)
    cohort_ext = xapi.extension("registration-cohorte")

    kept = found[during_closed["id"]]
    assert kept["context"]["registration"] == closed.registration
    assert kept["context"]["extensions"][cohort_ext] == COHORT
    assert kept["timestamp"].startswith(during_closed["timestamp"][:19])

    kept = found[during_open["id"]]
    assert kept["context"]["registration"] == opened.registration
    assert cohort_ext not in (kept["context"].get("extensions") or {})

    kept = found[before["id"]]  # outside every window: as sent
    assert kept["context"]["registration"] == COHORT
    assert kept["context"].get("extensions") == sent[before["id"]]["context"].get("extensions")


def test_a_statement_already_of_the_seance_and_a_repeated_delivery_are_stored_once(room):
    hub_dir, lrs, gate, _closed, opened, now = room
    answer = statement("bruno", now - timedelta(minutes=2), registration=opened.registration)
    for _ in range(2):  # the learner's spool retries: Ralph deduplicates on the unchanged id
        r = post(hub_dir, gate, "bruno", answer)
        assert r.status_code in (200, 204), r.text
    ids = [s["id"] for s in lrs.statements()]
    assert ids.count(answer["id"]) == 1
    kept = stored(lrs)[answer["id"]]
    assert kept["context"]["registration"] == opened.registration
    assert xapi.extension("registration-cohorte") not in (kept["context"].get("extensions") or {})
    # a statement of the open séance carrying a cohort is tagged again identically on a retry
    mine = statement("bruno", now - timedelta(minutes=3))
    assert post(hub_dir, gate, "bruno", mine).status_code == 200
    assert post(hub_dir, gate, "bruno", mine).status_code in (200, 204)
    assert [s["id"] for s in lrs.statements()].count(mine["id"]) == 1


def test_after_fermer_new_statements_are_not_tagged(room):
    hub_dir, lrs, gate, _closed, opened, _now = room
    closed_now = seance.load(hub_dir, opened.code)
    closed_now.closed_at = iso(datetime.now(UTC))
    seance.save(hub_dir, closed_now)
    later = statement("chloe", datetime.now(UTC) + timedelta(seconds=1))
    inside = statement("chloe", datetime.now(UTC) - timedelta(minutes=5))  # spooled from before
    r = post(hub_dir, gate, "chloe", [later, inside])
    assert r.status_code == 200, r.text
    found = stored(lrs)
    assert found[later["id"]]["context"]["registration"] == COHORT
    assert found[inside["id"]]["context"]["registration"] == opened.registration


def test_someone_elses_statement_is_still_refused_and_nothing_is_stored(room):
    hub_dir, lrs, gate, *_, now = room
    other = statement("dora", now - timedelta(minutes=1))
    r = post(hub_dir, gate, "alice", other)
    assert r.status_code == 403
    assert other["id"] not in stored(lrs)
