"""Room attacks on the LRS gate: each is tried as a learner would, and each fails.

Ralph and the gate are started as the hub starts them: the service list of
`incubo.hub.services.configure_services` (commands, environments, the hub
folder's secrets and ports), with the variables JupyterHub gives a managed
service. A learner speaks to the gate with the credentials their kernel gets
at spawn (`INCUBO_LRS_AUTH`); the trainers' read-only account checks what
Ralph really stored. Last, on a real `incubo hub`, the trainer's real
`incubo grade autograde` (the hub's environment only, no LRS named) sends
its grades through the hub's gate with the grader's authority, and a
learner's forgery of one is refused.

| attack | test |
| --- | --- |
| a forged `scored` with the grader's authority | test_attack_forged_grade_with_the_graders_authority_is_refused |
| a claimed authority on an ordinary statement | test_attack_claimed_authority_is_refused_and_own_statements_carry_the_learners |
| voiding another statement (the grade) | test_attack_voiding_is_refused |
| the grader's name as a learner's login | test_attack_a_learner_named_like_the_grader_gets_no_grader_right |
| a 2 MiB body | test_attack_two_mebibytes_are_refused_before_parsing |
| JSON nested 100,000 deep | test_attack_json_nested_a_hundred_thousand_deep_is_refused |
| a batch of 10,000 statements (and one of 1,001) | test_attack_huge_batches_are_refused |
| 1,000 requests in a burst | test_attack_a_burst_of_a_thousand_requests_is_limited |
| (the spool under those limits) | test_the_spool_keeps_what_was_refused_for_speed_and_delivers_it_later |
| grades left in the grader's spool | test_grades_left_in_the_graders_spool_are_flushed_to_the_room_as_the_grader |
| a forged grade on a real hub; predicting the grade's statement id | test_on_a_real_hub_grades_reach_its_lrs_as_the_graders_and_a_forgery_does_not |
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import sqlite3
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from harness import ROOT, http_ok, incubo, running, wait_for

from incubo import authority, events, xapi
from incubo.hub import lrs_keys
from incubo.hub.lrs_limits import Limits

sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "grading"))
import cohort  # noqa: E402

HOMEPAGE = "http://salle-attaques.test"
XAPI = {"X-Experience-API-Version": "1.0.3"}
FINAL = events.FINAL_REFUSAL_HEADER


class Room:
    """The hub folder, Ralph and the gate as the hub runs them."""

    def __init__(self, hub_dir: Path, services: dict[str, dict]) -> None:
        self.hub_dir = hub_dir
        self.services = services
        self.secret = lrs_keys.gate_secret(hub_dir)
        self.base = services["lrs"]["url"] + "/services/lrs/"
        self.url = self.base + "xAPI/statements"
        self.count = 0

    def learner(self) -> tuple[str, tuple[str, str]]:
        """A new learner's name and the credentials their kernel would get."""
        self.count += 1
        name = f"apprenant-{self.count}-{uuid.uuid4().hex[:6]}"
        return name, tuple(lrs_keys.learner_auth(self.secret, name).split(":", 1))

    def reader(self) -> tuple[str, str]:
        return tuple(lrs_keys.reader_auth(self.secret, "formateurs").split(":", 1))

    def stored(self) -> dict[str, dict]:
        """Every statement Ralph holds, read through the gate by the trainers' account."""
        found, url = {}, self.url + "?limit=1000"
        while url:
            r = requests.get(url, auth=self.reader(), headers=XAPI, timeout=30)
            r.raise_for_status()
            body = r.json()
            found.update({s["id"]: s for s in body["statements"]})
            url = self.services["lrs"]["url"] + body["more"] if body.get("more") else None
        return found


def statement(name: str, verb: str = "experienced", **extra) -> dict:
    stmt = xapi.statement(
        verb,
        parcours="essai",
        module="essai-01",
        kind="exercice",
        ident="ex-addition-1",
        actor_name=name,
        homepage=HOMEPAGE,
        result={"success": True, "score": xapi.score(1, 1)} if verb != "experienced" else None,
    )
    stmt.update(extra)
    return stmt


@pytest.fixture(scope="module")
def room(tmp_path_factory, session_env):
    from traitlets.config import Config

    from incubo.hub.services import configure_services, ralph_python

    if ralph_python() is None:
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    base = tmp_path_factory.mktemp("attaques-passerelle")
    hub_dir = base / "hub"
    hub_dir.mkdir()
    c = Config()
    configure_services(
        c,
        SimpleNamespace(
            hub_dir=hub_dir, course_id="incubo", course_dir=base / "cours", url=HOMEPAGE
        ),
    )
    services = {s["name"]: s for s in c.JupyterHub.services.get_value([])}
    room = Room(hub_dir, services)
    ports = json.loads((hub_dir / "lrs" / "ports.json").read_text())
    ready = {
        "ralph": lambda: http_ok(f"http://127.0.0.1:{ports['ralph']}/__heartbeat__"),
        "lrs": lambda: requests.get(room.base + "__heartbeat__", timeout=2).status_code == 200,
    }
    with contextlib.ExitStack() as stack:
        for name in ("ralph", "lrs"):
            svc = services[name]
            env = dict(session_env, **svc["environment"])
            if "url" in svc:  # what JupyterHub gives a managed service it proxies
                env.update(
                    JUPYTERHUB_SERVICE_NAME=name,
                    JUPYTERHUB_SERVICE_URL=svc["url"],
                    JUPYTERHUB_SERVICE_PREFIX=f"/services/{name}/",
                )
            stack.enter_context(
                running(
                    svc["command"],
                    env=env,
                    cwd=svc.get("cwd", ROOT),
                    ready=ready[name],
                    timeout=90,
                    log=base / f"{name}.log",
                )
            )
        yield room


def refused(r: requests.Response, status: int, *fragments: str) -> None:
    assert r.status_code == status, (r.status_code, r.text[:300])
    detail = r.json()["detail"]
    for fragment in fragments:
        assert fragment in detail, detail


def test_attack_forged_grade_with_the_graders_authority_is_refused(room):
    name, auth = room.learner()
    forged = statement(name, "scored", authority=authority.grader_authority(HOMEPAGE))
    r = requests.post(room.url, json=[forged], auth=auth, headers=XAPI, timeout=30)
    refused(r, 403, "note", "correction de la salle")
    assert r.headers.get(FINAL)  # the spool sets it aside instead of sending it forever
    # without the authority either: a learner never writes a grade
    plain = statement(name, "scored")
    r = requests.post(room.url, json=plain, auth=auth, headers=XAPI, timeout=30)
    refused(r, 403, "note")
    # nor by PUT, nor hidden in a batch of honest ones
    r = requests.put(
        room.url, params={"statementId": forged["id"]}, json=forged, auth=auth, headers=XAPI
    )
    refused(r, 403)
    honest = statement(name)
    r = requests.post(room.url, json=[honest, plain], auth=auth, headers=XAPI, timeout=30)
    refused(r, 403)
    stored = room.stored()
    assert not {forged["id"], plain["id"], honest["id"]} & set(stored)
    assert not [s for s in stored.values() if xapi.learner_of(s) == name]


def test_attack_claimed_authority_is_refused_and_own_statements_carry_the_learners(room):
    name, auth = room.learner()
    for claimed in (
        authority.grader_authority(HOMEPAGE),
        {"objectType": "Agent", "mbox": "mailto:formatrice@exemple.gouv.fr"},
        authority.learner_authority(HOMEPAGE, "un-autre"),
    ):
        claim = statement(name, "passed", authority=claimed)
        r = requests.post(room.url, json=[claim], auth=auth, headers=XAPI, timeout=30)
        refused(r, 403, "autorité")
        assert claim["id"] not in room.stored()
    own = statement(name, "passed")
    r = requests.post(room.url, json=[own], auth=auth, headers=XAPI, timeout=30)
    assert r.status_code == 200, r.text
    kept = room.stored()[own["id"]]
    assert kept["authority"]["account"] == {"homePage": HOMEPAGE, "name": name}
    assert not authority.by_grader(kept)
    # the learner reads it back with the authority the gate set
    mine = requests.get(room.url, auth=auth, headers=XAPI, timeout=30).json()["statements"]
    assert [s["authority"]["account"]["name"] for s in mine] == [name]


def test_attack_voiding_is_refused(room):
    name, auth = room.learner()
    own = statement(name)
    assert requests.post(room.url, json=own, auth=auth, headers=XAPI, timeout=30).ok
    void = statement(name)
    void["verb"] = {"id": "http://adlnet.gov/expapi/verbs/voided"}
    void["object"] = {"objectType": "StatementRef", "id": own["id"]}
    r = requests.post(room.url, json=void, auth=auth, headers=XAPI, timeout=30)
    refused(r, 403, "annulée")
    assert void["id"] not in room.stored()


def test_attack_a_learner_named_like_the_grader_gets_no_grader_right(room):
    auth = tuple(lrs_keys.learner_auth(room.secret, authority.GRADER).split(":", 1))
    victim, _ = room.learner()
    grade = statement(victim, "scored")
    r = requests.post(room.url, json=grade, auth=auth, headers=XAPI, timeout=30)
    refused(r, 403, "au nom de la personne connectée")
    own = statement(authority.GRADER, "scored")
    refused(requests.post(room.url, json=own, auth=auth, headers=XAPI, timeout=30), 403, "note")
    assert not {grade["id"], own["id"]} & set(room.stored())
    # and the grader's own credential writes grades only, never a learner's other statements
    grader = tuple(lrs_keys.grader_auth(room.secret).split(":", 1))
    other = statement(victim, "experienced")
    r = requests.post(room.url, json=other, auth=grader, headers=XAPI, timeout=30)
    refused(r, 403, "compte de correction")
    assert other["id"] not in room.stored()


def test_attack_two_mebibytes_are_refused_before_parsing(room):
    name, auth = room.learner()
    big = statement(name, result={"response": "x" * (2 * 1024 * 1024)})
    r = requests.post(room.url, json=big, auth=auth, headers=XAPI, timeout=60)
    refused(r, 413, "1 Mio")
    assert r.headers.get(FINAL)
    # sent in chunks without a length, the same
    body = json.dumps(big).encode()
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    r = requests.post(room.url, data=chunks, auth=auth, headers=dict(XAPI), timeout=60)
    refused(r, 413, "1 Mio")
    assert big["id"] not in room.stored()
    # any other path, or anyone without credentials, is cut at 1 MiB: 400 and the line is closed
    for url, who in ((room.base + "__heartbeat__", auth), (room.url, ("intrus", "x"))):
        with contextlib.suppress(requests.RequestException):
            r = requests.post(url, data=b"x" * (2 * 1024 * 1024), auth=who, timeout=60)
            assert r.status_code == 400
    # the same learner's next, ordinary statement goes through: the gate is still up
    small = statement(name)
    assert requests.post(room.url, json=small, auth=auth, headers=XAPI, timeout=30).ok


def test_attack_json_nested_a_hundred_thousand_deep_is_refused(room):
    name, auth = room.learner()
    r = requests.post(
        room.url, data=b"[" * 100_000 + b"]" * 100_000, auth=auth, headers=XAPI, timeout=30
    )
    refused(r, 400, "JSON")
    assert requests.get(room.base + "__heartbeat__", timeout=10).status_code == 200


def test_attack_huge_batches_are_refused(room):
    name, auth = room.learner()
    batch = [statement(name) for _ in range(10_000)]
    r = requests.post(room.url, json=batch, auth=auth, headers=XAPI, timeout=120)
    assert r.status_code == 413 and r.headers.get(FINAL), r.status_code
    tiny = [
        {
            "id": str(uuid.uuid4()),
            "actor": {"account": {"homePage": HOMEPAGE, "name": name}},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
            "object": {"id": "https://x.test/a"},
        }
        for _ in range(1001)
    ]
    r = requests.post(room.url, json=tiny, auth=auth, headers=XAPI, timeout=60)
    refused(r, 413, "1001 déclarations", "au plus 1000")
    stored = set(room.stored())
    assert not stored & {s["id"] for s in batch + tiny}


def test_attack_a_burst_of_a_thousand_requests_is_limited(room):
    name, auth = room.learner()
    sent = [statement(name) for _ in range(1000)]
    started = time.monotonic()
    with requests.Session() as session, ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(
                lambda s: session.post(room.url, json=s, auth=auth, headers=XAPI, timeout=60),
                sent,
            )
        )
    elapsed = time.monotonic() - started
    codes = [r.status_code for r in answers]
    accepted = {s["id"] for s, r in zip(sent, answers, strict=True) if r.status_code == 200}
    assert set(codes) <= {200, 429}, set(codes)
    too_fast = [r for r in answers if r.status_code == 429]
    limits = Limits()
    assert len(accepted) <= limits.burst + limits.per_second * elapsed + 1, (len(accepted), elapsed)
    assert len(too_fast) == 1000 - len(accepted)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in too_fast)
    assert "Trop de requêtes" in too_fast[0].json()["detail"]
    assert not too_fast[0].headers.get(FINAL)  # a spool keeps these for later
    stored = {i for i, s in room.stored().items() if xapi.learner_of(s) == name}
    assert stored == accepted  # what got 429 is not stored; what got 200 is, once
    # another learner is not slowed down by this one
    other, other_auth = room.learner()
    assert requests.post(room.url, json=statement(other), auth=other_auth, headers=XAPI).ok
    print(f"burst: {len(accepted)} accepted, {len(too_fast)} refused in {elapsed:.1f}s")


def test_the_spool_keeps_what_was_refused_for_speed_and_delivers_it_later(
    room, tmp_path, monkeypatch
):
    name, auth = room.learner()
    monkeypatch.setenv("INCUBO_LRS_URL", room.base)
    monkeypatch.setenv("INCUBO_LRS_AUTH", ":".join(auth))
    monkeypatch.setenv("INCUBO_SPOOL_DIR", str(tmp_path / "file"))
    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "journal.jsonl"))
    honest = [statement(name) for _ in range(5)]
    huge = statement(name, result={"response": "y" * (1024 * 1024 + 10)})
    for stmt in [*honest[:2], huge, *honest[2:]]:
        events._spool(stmt)
    # the learner's bucket is empty (their kernel was too fast)...
    deadline = time.monotonic() + 60
    sent, rejected = 0, []
    with requests.Session() as session:
        while True:
            while session.post(room.url, json=statement(name), auth=auth, headers=XAPI).ok:
                assert time.monotonic() < deadline, "the learner's rate is never limited"
            report = events.flush()  # (a token refilled meanwhile may let a batch through)
            sent += report.sent
            rejected += report.rejected_reasons
            if report.error:
                break
            if report.pending == 0:
                # a token refilled between the last refused post and the flush (a loaded
                # machine) and the whole spool went through: give it more to keep
                more = [statement(name) for _ in range(5)]
                honest += more
                for stmt in more:
                    events._spool(stmt)
            assert time.monotonic() < deadline, "the spool never met the rate limit"
    assert report.retry_after and report.retry_after >= 1 and "429" in report.error
    assert (
        report.pending == len(honest) - sent
    )  # ...so the spool keeps them; the huge one is set aside
    assert len(rejected) == 1 and "volumineuse" in rejected[0]  # unsent: too big for any LRS
    assert [p for p in events.rejected_dir().glob("*.json") if huge["id"] in p.name]

    def delivered() -> bool:
        return events.flush().pending == 0

    wait_for(delivered, timeout=60, what="the spool delivering after Retry-After")
    stored = room.stored()
    assert {s["id"] for s in honest} <= set(stored) and huge["id"] not in stored


def test_grades_left_in_the_graders_spool_are_flushed_to_the_room_as_the_grader(
    room, tmp_path, monkeypatch, session_env
):
    victim, _ = room.learner()
    spool = tmp_path / "file-attente"
    monkeypatch.setenv("INCUBO_SPOOL_DIR", str(spool))
    grade = statement(victim, "scored")
    events._spool(grade)  # a grading run that ended while the gate was away
    env = dict(session_env, INCUBO_HUB_DIR=str(room.hub_dir), INCUBO_SPOOL_DIR=str(spool))
    result = incubo("events", "flush", env=env)
    assert result.returncode == 0, result.stderr
    assert "1 déclaration envoyée" in result.stderr + result.stdout
    assert authority.by_grader(room.stored()[grade["id"]])


def test_on_a_real_hub_grades_reach_its_lrs_as_the_graders_and_a_forgery_does_not(
    tmp_path_factory, request
):
    """`incubo hub` (real JupyterHub, proxy, Ralph and gate as services), then the trainer's
    `incubo grade autograde` on the same machine with the hub's environment only."""
    from hub_support import shared_tmp, start_hub

    from incubo.grading.sandbox import bwrap_works

    if not bwrap_works():
        pytest.fail("bubblewrap manquant : « apt-get install -y bubblewrap » (fait par .ci/run).")
    base = shared_tmp("incubo-correction-hub-")
    request.addfinalizer(lambda: subprocess.run(["rm", "-rf", str(base)], check=False))
    env = cohort.env(tmp_path_factory.mktemp("correction-env"))
    course = cohort.make_course(base / "racine", env)
    for student, kind in {"etu-juste": "right", "etu-faux": "wrong"}.items():
        cohort.submit(course, student, kind)
    with start_hub(course_dir=course) as hub:
        gate = hub.url + "/services/lrs/"
        wait_for(
            lambda: requests.get(gate + "__heartbeat__", timeout=5).status_code == 200,
            timeout=120,
            what="Ralph behind the hub's gate",
        )
        # root's `incubo grade` on the hub runs as the grader account (incubo.hub.privileges):
        # its journal of statements goes where that account may write
        grader = pwd.getpwnam(hub.env["INCUBO_HUB_COMPTE_CORRECTEUR"])
        journal = base / "journal-correcteur"
        journal.mkdir()
        os.chown(journal, grader.pw_uid, grader.pw_gid)
        hub.env["INCUBO_EVENTS_FILE"] = str(journal / "evenements.jsonl")
        result = incubo(
            "grade", "autograde", cohort.ASSIGNMENT, "--course-dir", course, env=hub.env
        )
        assert result.returncode == 0, result.stderr[-3000:]
        secret = lrs_keys.gate_secret(hub.hub_dir)
        reader = tuple(lrs_keys.reader_auth(secret, "formateurs").split(":", 1))
        body = requests.get(
            gate + "xAPI/statements?limit=1000", auth=reader, headers=XAPI, timeout=30
        ).json()
        stored = {s["id"]: s for s in body["statements"]}
        # every grade the run emitted was delivered by the run itself, before it exited
        emitted = {s["id"] for s in events.read_jsonl(Path(hub.env["INCUBO_EVENTS_FILE"]))}
        assert len(emitted) >= 4 and emitted <= set(stored)
        graded = [stored[i] for i in emitted]
        assert {xapi.verb_of(s) for s in graded} == {"scored", "passed", "failed"}
        assert {xapi.learner_of(s) for s in graded} == {"etu-juste", "etu-faux"}
        assert all(s["authority"] == authority.grader_authority(hub.url) for s in graded)
        assert all(authority.by_grader(s) for s in graded)
        assert all(s["actor"]["account"]["homePage"] == hub.url for s in graded)
        # the ids a learner could compute from their own submission are not the grade's ids
        from incubo.grading import statements

        db = sqlite3.connect(course / "gradebook.db")
        digest = db.execute(
            "SELECT digest FROM incubo_submissions WHERE student = 'etu-juste'"
        ).fetchone()[0]
        db.close()
        guessed = statements.statement_id(
            None, f"{cohort.ASSIGNMENT}/etu-juste/correct_squares/passed/{digest}"
        )
        assert guessed not in emitted
        # the grader's way to the gate is the grader's only
        assert (hub.hub_dir / authority.ACCESS_FILE).stat().st_mode & 0o077 == 0
        # a learner of this hub claiming that authority for their own grade is refused
        name = "etu-juste"
        auth = tuple(lrs_keys.learner_auth(secret, name).split(":", 1))
        forged = xapi.statement(
            "scored",
            parcours="cours",
            module=cohort.ASSIGNMENT,
            kind="exercice",
            ident="correct_squares",
            actor_name=name,
            homepage=hub.url,
            result={"score": xapi.score(10, 10), "success": True},
        )
        forged["authority"] = authority.grader_authority(hub.url)
        r = requests.post(gate + "xAPI/statements", json=forged, auth=auth, headers=XAPI)
        assert r.status_code == 403, r.text
        r = requests.get(
            gate + "xAPI/statements",
            params={"statementId": forged["id"]},
            auth=reader,
            headers=XAPI,
        )
        assert r.status_code == 404 or not r.json().get("statements")
