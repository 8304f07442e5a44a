"""Rewriting a statement file that another process appends to (Ralph's file backend): nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from harness import wait_for

from incubo import xapi
from incubo.rgpd_places import rewrite_statements

WRITER = """
import sys, time, pathlib
path, go = sys.argv[1], pathlib.Path(sys.argv[2])
with open(path, "ab") as fh:          # opened before the rewrite, as Ralph between open and write
    print("ouvert", flush=True)
    while not go.exists():
        time.sleep(0.01)
    fh.write(sys.argv[3].encode() + b"\\n")
"""


def line(agent: str) -> str:
    return json.dumps(xapi.statement("experienced", parcours="p", actor_name=agent))


def test_a_line_appended_to_the_replaced_file_is_carried_over(tmp_path):
    path = tmp_path / "fs_lrs.jsonl"
    path.write_text("".join(line(a) + "\n" for a in ["efface", "reste", "efface", "reste"]))
    late = line("tardif")
    go = tmp_path / "go"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), str(go), late], stdout=subprocess.PIPE, text=True
    )
    assert writer.stdout.readline().strip() == "ouvert"
    result = {}
    worker = threading.Thread(
        target=lambda: result.update(
            n=rewrite_statements(path, lambda s: xapi.learner_of(s) != "efface")
        )
    )
    worker.start()
    # the new file is in place, the rewrite waits for the writer to let go of the old one
    wait_for(lambda: "efface" not in path.read_text(), timeout=10)
    assert worker.is_alive()
    go.touch()
    writer.wait(timeout=10)
    worker.join(timeout=30)
    assert result["n"] == 2
    agents = [xapi.learner_of(json.loads(x)) for x in path.read_text().splitlines()]
    assert agents == ["reste", "reste", "tardif"]


def test_a_simulation_changes_nothing(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(line("a") + "\n" + "pas du json\n" + line("b") + "\n")
    before = path.read_bytes()
    assert rewrite_statements(path, lambda s: False, dry_run=True) == 2
    assert path.read_bytes() == before
    assert rewrite_statements(path, lambda s: False) == 2
    assert path.read_text() == "pas du json\n"  # what is not a statement is kept
