"""The local event store: one JSON line per statement, safe with several writers, never raising."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from incubo import events, xapi


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "evenements.jsonl"))
    monkeypatch.setenv("INCUBO_SPOOL_DIR", str(tmp_path / "file-attente"))
    monkeypatch.delenv("INCUBO_LRS_URL", raising=False)
    return tmp_path


def stmt(i: int = 0) -> dict:
    return xapi.statement(
        "asked",
        parcours="essai",
        module="essai-01",
        kind="exercice",
        ident="ex-1",
        extensions={"hint-number": i},
    )


def test_default_locations_are_under_home(monkeypatch, tmp_path):
    monkeypatch.delenv("INCUBO_EVENTS_FILE", raising=False)
    monkeypatch.delenv("INCUBO_SPOOL_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert events.events_file() == tmp_path / ".incubo" / "evenements.jsonl"
    assert events.spool_dir() == tmp_path / ".incubo" / "file-attente"


def test_journal_without_lrs_has_one_line_per_statement_and_no_spool(store):
    sent = [stmt(i) for i in range(3)]
    for s in sent:
        assert events.record(s) is True
    assert events.read_jsonl() == sent
    assert not (store / "file-attente").exists()


def test_a_broken_last_line_never_swallows_the_next_statement(store):
    path = store / "evenements.jsonl"
    events.record(stmt(1))
    with open(path, "a") as fh:
        fh.write('{"id": "coupé en plein')  # a kernel killed mid-write
    events.record(stmt(2))
    assert [
        s["context"]["extensions"][xapi.extension("hint-number")] for s in events.read_jsonl()
    ] == [1, 2]


def test_several_kernels_append_without_mixing_lines(store):
    code = (
        "from incubo import events, xapi\n"
        "for i in range(150):\n"
        "    events.record(xapi.statement('asked', parcours='p', module='m', kind='exercice', ident='e'))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(3)]
    assert [p.wait(120) for p in procs] == [0, 0, 0]
    lines = (store / "evenements.jsonl").read_text().splitlines()
    assert len(lines) == 450
    assert len({json.loads(line)["id"] for line in lines}) == 450


def test_record_never_raises_when_the_disk_refuses(monkeypatch):
    monkeypatch.setenv("INCUBO_EVENTS_FILE", "/proc/interdit/evenements.jsonl")
    monkeypatch.delenv("INCUBO_LRS_URL", raising=False)
    assert events.record(stmt()) is False


def test_lrs_url_forms(monkeypatch):
    for given in (
        "http://h:8100",
        "http://h:8100/",
        "http://h:8100/xAPI",
        "http://h:8100/xAPI/statements",
    ):
        monkeypatch.setenv("INCUBO_LRS_URL", given)
        assert events.lrs_url() == "http://h:8100/xAPI/statements"
    monkeypatch.setenv("INCUBO_LRS_URL", " ")
    assert events.lrs_url() is None


def test_unreachable_lrs_keeps_statements_spooled(store, monkeypatch):
    from harness import free_port

    monkeypatch.setenv("INCUBO_LRS_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    for i in range(3):
        assert events.record(stmt(i)) is True
    report = events.flush()
    assert report.error and report.sent == 0 and report.pending == 3
    assert len(events.read_jsonl()) == 3  # the learner's own journal has them too


def test_cli_flush_without_lrs_is_a_french_error(store, jupyter_env):
    from harness import assert_french_error, incubo

    env = dict(jupyter_env, INCUBO_SPOOL_DIR=str(store / "file-attente"))
    assert_french_error(
        incubo("events", "flush", env=env), "Aucun LRS n'est configuré", "INCUBO_LRS_URL"
    )
    status = incubo("events", "status", env=env)
    assert status.returncode == 0 and "En attente d'envoi : 0" in status.stderr


def test_cli_flush_with_an_unusable_spool_is_a_french_error(tmp_path, jupyter_env):
    from harness import assert_french_error, incubo

    blocker = tmp_path / "pas-un-dossier"
    blocker.write_text("")
    env = dict(
        jupyter_env,
        INCUBO_SPOOL_DIR=str(blocker / "file-attente"),
        INCUBO_LRS_URL="http://127.0.0.1:9",
    )
    assert_french_error(incubo("events", "flush", env=env), "dossier d'attente", "INCUBO_SPOOL_DIR")
