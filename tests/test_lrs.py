"""Learning statements against a real Ralph LRS: accepted, spooled while it is down, delivered exactly once."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from harness import ROOT, free_port, http_ok, incubo, running, wait_for

from incubo import events, xapi

RALPH_BIN = ROOT / ".venv-ralph" / "bin"
FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
USER, PASSWORD = "salle", "motdepasse-de-test"


class Ralph:
    """A real Ralph (file backend) on a free port; can be stopped and started again on the same data."""

    def __init__(self, base: Path, env: dict[str, str]) -> None:
        self.base = base
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = base / "donnees"
        self.env = dict(
            env,
            RALPH_APP_DIR=str(base / "app"),
            RALPH_AUTH_FILE=str(base / "app" / "auth.json"),
            RALPH_RUNSERVER_BACKEND="fs",
            RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(self.data),
            RALPH_RUNSERVER_MAX_SEARCH_HITS_COUNT="1000",
        )
        (base / "app").mkdir(parents=True)
        subprocess.run(
            [
                RALPH_BIN / "ralph",
                "auth",
                "-u",
                USER,
                "-p",
                PASSWORD,
                "-s",
                "all",
                "-M",
                "mailto:salle@example.org",
                "-w",
            ],
            env=self.env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        self._stack = contextlib.ExitStack()
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        cmd = [
            RALPH_BIN / "python",
            ROOT / "deploy" / "ralph" / "run_ralph.py",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        self._stack.enter_context(
            running(
                cmd,
                env=self.env,
                ready=lambda: http_ok(self.url + "/__heartbeat__"),
                timeout=60,
                log=self.base / f"ralph-{self.runs}.log",
            )
        )

    def stop(self) -> None:
        self._stack.close()
        self._stack = contextlib.ExitStack()

    def statements(self) -> list[dict]:
        """Every statement Ralph returns (following `more`), duplicates included."""
        found, url = [], self.url + "/xAPI/statements?limit=1000"
        while url:
            r = requests.get(
                url,
                auth=(USER, PASSWORD),
                headers={"X-Experience-API-Version": "1.0.3"},
                timeout=10,
            )
            r.raise_for_status()
            body = r.json()
            found += body["statements"]
            url = self.url + body["more"] if body.get("more") else None
        return found

    def stored_ids(self) -> list[str]:
        return [s["id"] for s in self.statements()]

    def lines_on_disk(self) -> list[str]:
        path = self.data / "fs_lrs.jsonl"
        return (
            [json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()]
            if path.exists()
            else []
        )


@pytest.fixture(scope="module")
def ralph(tmp_path_factory, session_env):
    if not (RALPH_BIN / "ralph").exists():
        pytest.fail("Ralph n'est pas installé : lancez « make ralph » (crée .venv-ralph).")
    lrs = Ralph(tmp_path_factory.mktemp("ralph"), session_env)
    lrs.start()
    try:
        yield lrs
    finally:
        lrs.stop()


@pytest.fixture
def learner(tmp_path, monkeypatch, ralph):
    """A learner's notebook folder whose statements go to Ralph."""
    folder = tmp_path / "essai-01"
    shutil.copytree(FIXTURE, folder)
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("INCUBO_EVENTS_FILE", str(tmp_path / "evenements.jsonl"))
    monkeypatch.setenv("INCUBO_SPOOL_DIR", str(tmp_path / "file-attente"))
    monkeypatch.setenv("INCUBO_LRS_URL", ralph.url)
    monkeypatch.setenv("INCUBO_LRS_AUTH", f"{USER}:{PASSWORD}")
    monkeypatch.delenv("INCUBO_GRADING", raising=False)
    from incubo.widgets import demarrer

    demarrer("02-exercices")
    return folder


def act(n: int = 1) -> float:
    """A burst of learner actions (check, hint, quiz, self-assessment); returns the slowest one, in seconds."""
    from incubo.widgets import Autoevaluation, Exercice, Quiz

    slowest = 0.0
    for i in range(n):
        for action in (
            lambda i=i: Exercice("ex-addition-1", namespace={"total": 40 + i}).check_button.click(),
            lambda: Exercice("ex-addition-1", namespace={}).hint_button.click(),
            lambda i=i: Quiz("q-total").repondre(41 + i),
            lambda i=i: Autoevaluation("debut").repondre({"tableur": 1 + i % 5}),
        ):
            t0 = time.perf_counter()
            action()
            slowest = max(slowest, time.perf_counter() - t0)
    return slowest


def own_ids() -> list[str]:
    return [s["id"] for s in events.read_jsonl()]


def test_statements_are_accepted_by_ralph(learner, ralph):
    from incubo.widgets import Exercice

    act(2)
    Exercice("ex-addition-1", namespace={}).solution_button.click()  # after two attempts: viewed
    for ex, ns in (
        ("ex-addition-1", {"total": 42}),
        ("ex-moyenne", {"moyenne": lambda xs: sum(xs) / len(xs)}),
        ("ex-secret", {"secret": "ok"}),
    ):
        Exercice(ex, namespace=ns).check_button.click()  # passed, then the module completed
    verbs = {s["verb"]["id"].rsplit("/", 1)[-1] for s in events.read_jsonl()}
    assert verbs == {
        "experienced",
        "attempted",
        "failed",
        "passed",
        "asked",
        "answered",
        "viewed",
        "completed",
    }
    assert events.wait_delivered(30), "statements still waiting for Ralph"
    mine = own_ids()
    assert len(mine) >= 10
    stored = Counter(ralph.stored_ids())
    assert all(stored[i] == 1 for i in mine)
    assert not events.rejected_dir().exists() or not list(events.rejected_dir().iterdir())
    # Ralph kept our statements as sent (valid xAPI 1.0.3, our vocabulary)
    attempted = next(s for s in events.read_jsonl() if s["verb"]["id"].endswith("/attempted"))
    [kept] = [s for s in ralph.statements() if s["id"] == attempted["id"]]
    assert kept["verb"]["id"] == xapi.VERBS["attempted"]
    assert kept["object"]["id"] == attempted["object"]["id"]
    assert kept["context"]["extensions"][xapi.extension("verdict")] == "incorrect"
    assert kept["actor"] == attempted["actor"]
    # and every one passes Ralph's strict xAPI 1.0.3 model (its API itself only checks a lax one)
    check = (
        "import json, sys\n"
        "from ralph.models.xapi.base.statements import BaseXapiStatement\n"
        "for line in sys.stdin:\n"
        "    BaseXapiStatement.model_validate(json.loads(line))\n"
    )
    journal = events.events_file().read_text()
    strict = subprocess.run(
        [RALPH_BIN / "python", "-c", check],
        input=journal,
        text=True,
        capture_output=True,
        timeout=60,
    )
    assert strict.returncode == 0, strict.stderr[-2000:]


def test_ralph_down_midsession_then_back_delivers_each_statement_once(learner, ralph):
    act(1)
    assert events.wait_delivered(30)
    ralph.stop()
    try:
        slowest = act(3)  # the learner goes on while the LRS is away
        assert slowest < 1.0, f"an action took {slowest:.2f}s while Ralph was down"
        assert len(events.pending_files()) >= 12  # spooled on disk, nothing lost
    finally:
        ralph.start()
    # the background sender retries by itself (no nudge): backoff of at most a few seconds here
    wait_for(
        lambda: not events.pending_files(),
        timeout=60,
        what="background delivery after Ralph came back",
    )
    mine = own_ids()
    stored = Counter(ralph.stored_ids())
    assert {i: stored[i] for i in mine} == {i: 1 for i in mine}, "every statement exactly once"
    on_disk = Counter(ralph.lines_on_disk())
    assert all(on_disk[i] == 1 for i in mine)


def test_a_repeated_delivery_never_duplicates(learner, ralph):
    act(1)
    assert events.wait_delivered(30)
    # as if the LRS's answer had been lost: the same statements are in the spool again
    for stmt in events.read_jsonl():
        events._spool(stmt)
    report = events.flush()
    assert report.error is None and report.pending == 0 and report.rejected == 0
    stored = Counter(ralph.stored_ids())
    assert all(stored[i] == 1 for i in own_ids())


def test_cli_flush_when_ralph_is_down_and_back(tmp_path, ralph, session_env):
    env = dict(
        session_env,
        INCUBO_SPOOL_DIR=str(tmp_path / "file-attente"),
        INCUBO_EVENTS_FILE=str(tmp_path / "evenements.jsonl"),
        INCUBO_LRS_URL=ralph.url,
        INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}",
    )
    ralph.stop()
    try:
        # a kernel that records three statements and exits before anything could be sent
        code = (
            "from incubo import events, xapi\n"
            "for i in range(3):\n"
            "    events.record(xapi.statement('asked', parcours='essai', module='essai-01', kind='exercice',"
            " ident='ex-addition-1', extensions={'hint-number': i + 1}))\n"
        )
        subprocess.run(
            [ROOT / ".venv" / "bin" / "python", "-c", code], env=env, check=True, timeout=60
        )
        assert len(list((tmp_path / "file-attente").glob("*.json"))) == 3
        down = incubo("events", "flush", env=env)
        assert down.returncode != 0 and "Traceback" not in down.stderr
        assert "injoignable" in down.stderr and "3 déclarations toujours en attente" in down.stderr
    finally:
        ralph.start()
    up = incubo("events", "flush", env=env)
    assert up.returncode == 0, up.stderr
    assert "3 déclarations envoyée(s)" in up.stderr and "0 déclaration en attente" in up.stderr
    ids = [
        json.loads(line)["id"] for line in (tmp_path / "evenements.jsonl").read_text().splitlines()
    ]
    stored = Counter(ralph.stored_ids())
    assert [stored[i] for i in ids] == [1, 1, 1]


def test_a_refused_statement_is_kept_aside_and_does_not_block_the_others(learner, ralph):
    bad = xapi.statement("asked", parcours="essai", kind="exercice", ident="ex-addition-1")
    del bad["verb"]  # not valid xAPI: Ralph refuses it for good
    events._spool(bad)
    act(1)
    assert events.wait_delivered(30)
    [kept] = list(events.rejected_dir().glob("*.json"))
    assert json.loads(kept.read_text())["id"] == bad["id"]
    stored = Counter(ralph.stored_ids())
    assert stored[bad["id"]] == 0
    assert all(stored[i] == 1 for i in own_ids())


def test_a_spool_never_sends_a_statement_over_the_limit_nor_a_batch_over_it(
    learner, ralph, monkeypatch
):
    """One statement over 1 MiB is set aside unsent; statements that together exceed 1 MiB go in
    several batches, all delivered once."""
    sizes = []
    post = events._post

    def watched(url, statements):  # what goes on the wire, then the real request
        sizes.append(len(events._body(statements)))
        return post(url, statements)

    monkeypatch.setattr(events, "_post", watched)
    huge = xapi.statement("asked", parcours="essai", kind="exercice", ident="ex-addition-1")
    huge["result"] = {"response": "x" * events.MAX_BODY_BYTES}
    events._spool(huge)
    big = []
    for _ in range(5):  # ~300 kB each: one batch of 5 would be 1.5 MB
        stmt = xapi.statement("answered", parcours="essai", kind="quiz", ident="q-total")
        stmt["result"] = {"response": "y" * 300_000}
        big.append(stmt)
        events._spool(stmt)
    events.ensure_sender().wake()  # the kernel's sender, as after any record()
    assert events.wait_delivered(30)
    [kept] = list(events.rejected_dir().glob("*.json"))
    assert huge["id"] in kept.name
    stored = Counter(ralph.stored_ids())
    assert stored[huge["id"]] == 0 and [stored[s["id"]] for s in big] == [1] * 5
    assert sizes and max(sizes) <= events.MAX_BODY_BYTES and len(sizes) >= 2


def test_wrong_password_keeps_statements_and_says_so(tmp_path, ralph, session_env):
    env = dict(
        session_env,
        INCUBO_SPOOL_DIR=str(tmp_path / "file-attente"),
        INCUBO_EVENTS_FILE=str(tmp_path / "evenements.jsonl"),
        INCUBO_LRS_URL=ralph.url,
        INCUBO_LRS_AUTH=f"{USER}:mauvais",
    )
    code = "from incubo import events, xapi\nevents.record(xapi.statement('completed', parcours='essai', module='essai-01'))\n"
    subprocess.run([ROOT / ".venv" / "bin" / "python", "-c", code], env=env, check=True, timeout=60)
    result = incubo("events", "flush", env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "identifiants refusés" in result.stderr and "INCUBO_LRS_AUTH" in result.stderr
    assert len(list((tmp_path / "file-attente").glob("*.json"))) == 1


def test_a_finishing_process_delivers_what_it_recorded(tmp_path, ralph, session_env):
    env = dict(
        session_env,
        INCUBO_SPOOL_DIR=str(tmp_path / "file-attente"),
        INCUBO_EVENTS_FILE=str(tmp_path / "evenements.jsonl"),
        INCUBO_LRS_URL=ralph.url,
        INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}",
    )
    code = (
        "from incubo import events, xapi\n"
        "for i in range(3):\n"
        "    events.record(xapi.statement('completed', parcours='essai', module=f'm{i}'))\n"
    )  # exits at once: the background sender gets a short grace at exit
    subprocess.run([ROOT / ".venv" / "bin" / "python", "-c", code], env=env, check=True, timeout=60)
    assert list((tmp_path / "file-attente").glob("*.json")) == []
    ids = [
        json.loads(line)["id"] for line in (tmp_path / "evenements.jsonl").read_text().splitlines()
    ]
    stored = Counter(ralph.stored_ids())
    assert [stored[i] for i in ids] == [1, 1, 1]
