"""What a trainer does to a séance, on the hub machine: the CLI and the dashboard service both call these.

Each operation reads the séance under the store's lock, changes it, writes
it back and returns it. Opening a séance releases its module to the
room's exchange (learners' labs fetch it without a click): in step mode
only the first step and the optional notebooks; « étape suivante »
releases the next notebook.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from incubo import seance as store
from incubo.config import HubSettings
from incubo.exchange import write_file_atomic
from incubo.seance import Poll, Seance, SeanceError

log = logging.getLogger(__name__)

DASHBOARD_PATH = "/services/tableau-de-bord/"
#: In a released module's folder while a séance runs it (hidden files are never copied to homes).
MANIFEST = ".seance.json"


def _layout(settings: HubSettings):
    from incubo.hub.exchange import layout

    return layout(settings)


def release(settings: HubSettings, seance: Seance) -> Path | None:
    """Put the séance's unlocked notebooks on the exchange for every learner (optional ones: see below).

    Once the séance is closed, the whole module goes back (no manifest): latecomers get it all.
    """
    from incubo.exchange import release_module

    lay = _layout(settings)
    if not lay.course.is_dir():
        log.warning("no exchange in %s: the séance's module is not released", lay.course)
        return None
    if seance.is_open:
        # optional notebooks stay off the learner-readable exchange: the séance service hands
        # each one to a learner who has passed the unlocked steps' exercises (seance_service)
        notebooks = list(seance.unlocked)
    else:  # the séance is over: the whole module, for whoever comes later
        notebooks = [*seance.steps, *seance.optional]
    dest = release_module(settings.course_dir, lay, seance.module, force=True, notebooks=notebooks)
    if seance.is_open:
        # read by learner_fetch (as the learner): optional notebooks only for who finishes early
        manifest = {"seance": seance.code, "etapes": seance.unlocked, "optionnels": seance.optional}
        write_file_atomic(dest, MANIFEST, json.dumps(manifest).encode(), mode=0o644)
    return dest


def projection_url(settings: HubSettings, code: str) -> str:
    return f"{settings.url}{DASHBOARD_PATH}seance/{code}/projection"


def open_seance(settings: HubSettings, module: str, *, step_by_step: bool = False) -> Seance:
    """Open a séance for `module`; refused while another one is open."""
    info = store.module_info(settings.course_dir, module)
    with store.locked(settings.hub_dir):
        running = store.current(settings.hub_dir)
        if running is not None:
            raise SeanceError(
                f"La séance {running.code} ({running.title}) est encore ouverte : fermez-la d'abord "
                f"(« incubo seance fermer {running.code} »).",
                code="seance-deja-ouverte",
            )
        seance = store.new_seance(settings.hub_dir, info, step_by_step=step_by_step)
        release(settings, seance)
        store.save(settings.hub_dir, seance)
    log.info("séance %s opened on %s (step by step: %s)", seance.code, module, step_by_step)
    return seance


def _change(settings: HubSettings, code: str, change) -> Seance:
    with store.locked(settings.hub_dir):
        seance = store.load(settings.hub_dir, code)
        change(seance)
        store.save(settings.hub_dir, seance)
    return seance


def _must_be_open(seance: Seance) -> None:
    if not seance.is_open:
        raise SeanceError(f"La séance {seance.code} est déjà fermée.", code="seance-fermee")


def close_seance(settings: HubSettings, code: str) -> Seance:
    def change(s: Seance) -> None:
        _must_be_open(s)
        s.closed_at = store.now_iso()
        poll = s.current_poll
        if poll is not None and poll.closed_at is None:
            poll.closed_at = s.closed_at

    seance = _change(settings, code, change)
    try:
        release(settings, seance)
    except Exception:  # the séance is closed all the same; the module stays as it was
        log.warning("could not release the whole module after séance %s", code, exc_info=True)
    log.info("séance %s closed", seance.code)
    return seance


def next_step(settings: HubSettings, code: str) -> Seance:
    """Unlock the next step: its notebook goes to every learner's lab."""

    def change(s: Seance) -> None:
        _must_be_open(s)
        if not s.step_by_step:
            raise SeanceError(
                f"La séance {s.code} n'est pas pas à pas : toutes ses étapes sont déjà ouvertes.",
                code="seance-pas-a-pas",
            )
        if s.step + 1 >= len(s.steps):
            raise SeanceError(
                "C'était la dernière étape du module : il n'y en a pas d'autre à ouvrir.",
                code="seance-derniere-etape",
            )
        s.step += 1
        release(settings, s)

    return _change(settings, code, change)


def launch_poll(settings: HubSettings, code: str, spec: dict[str, Any]) -> Poll:
    """Ask the room a question: `{"question_id": …}` from the module's bank, or a typed one."""
    made: list[Poll] = []

    def change(s: Seance) -> None:
        _must_be_open(s)
        poll_id = store.next_poll_id(s)
        qid = str(spec.get("question_id") or "").strip()
        if qid:
            info = store.module_info(settings.course_dir, s.module)
            bank = store.bank_questions(info)
            found = next((q for q in bank if str(q.get("id")) == qid), None)
            if found is None:
                from incubo.errors import suggestion

                raise SeanceError(
                    f"La question « {qid} » n'est pas dans la banque du module {s.module}."
                    + suggestion(qid, [str(q.get("id")) for q in bank]),
                    code="question-inconnue",
                )
            poll = store.bank_question_to_poll(found, poll_id)
        else:
            poll = store.typed_poll(spec, poll_id)
        previous = s.current_poll
        if previous is not None and previous.closed_at is None:
            previous.closed_at = store.now_iso()
        s.polls.append(poll)
        s.active_poll = poll.id
        made.append(poll)

    _change(settings, code, change)
    return made[0]


def reveal_poll(settings: HubSettings, code: str) -> Poll:
    """Show the room the current poll's correct answer (answers are still accepted)."""
    found: list[Poll] = []

    def change(s: Seance) -> None:
        _must_be_open(s)
        poll = s.current_poll
        if poll is None:
            raise SeanceError("Aucune question n'est en cours.", code="sondage-absent")
        poll.revealed = True
        found.append(poll)

    _change(settings, code, change)
    return found[0]


def end_poll(settings: HubSettings, code: str) -> Seance:
    """Take the current question off the learners' screens."""

    def change(s: Seance) -> None:
        poll = s.current_poll
        if poll is not None and poll.closed_at is None:
            poll.closed_at = store.now_iso()
        s.active_poll = None

    return _change(settings, code, change)


def seance_statements(settings: HubSettings, seance: Seance) -> list[dict[str, Any]]:
    """The séance's statements, read from the room's LRS (through the gate, trainers' read-only account)."""
    from incubo import lrs
    from incubo.hub import lrs_keys

    try:
        ports = json.loads((lrs_keys.lrs_dir(settings.hub_dir) / "ports.json").read_text())
        url = f"http://127.0.0.1:{int(ports['lrs'])}/services/lrs/xAPI/statements"
    except (OSError, ValueError, KeyError):
        raise SeanceError(
            f"Le LRS de la salle est introuvable dans {settings.hub_dir} : démarrez d'abord le hub (« incubo hub »).",
            code="lrs-absent",
        ) from None
    auth = lrs_keys.reader_auth(lrs_keys.gate_secret(settings.hub_dir), "formateurs")
    try:
        return lrs.read_statements(url, auth=auth, query={"registration": seance.registration})
    except lrs.LrsError as err:
        if err.status is None:
            raise SeanceError(
                "Le LRS de la salle ne répond pas : le hub est-il démarré ?", code="lrs-absent"
            ) from None
        raise SeanceError(
            f"Le LRS de la salle a refusé la lecture (HTTP {err.status}).", code="lrs-refus"
        ) from None
