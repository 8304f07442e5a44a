"""One learner never stops the others: memory, process and CPU limits per learner (cgroups).

A real room hub, four learners with their own Unix accounts: one fills the
memory, one runs a fork bomb, one spins the CPU; the fourth (and a second
kernel of the spinning one) keep running small cells, whose latency is
compared with the idle room's, measured in the same test.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path

import pytest
from hub_support import start_hub

from incubo.hub import limits

pytestmark = pytest.mark.slow

MEMORY = "1G"
PROCESSES = 64
#: A small cell with a little real work (~10 ms), the kind a learner runs all day.
SMALL_CELL = "sum(i * i for i in range(100_000))"
HOG = "blocs = []\nwhile True:\n    blocs.append(bytearray(64 * 1024 * 1024))"
BOMB = "import os\nwhile True:\n    os.fork()"


def _cgroups_ok() -> bool:
    return limits.Cgroups(Path("/nonexistent")).available()


@pytest.fixture(scope="module")
def room():
    if not _cgroups_ok():
        pytest.fail(
            "Les groupes de contrôle (cgroups) ne sont pas accessibles en écriture : les limites par apprenant "
            "ne peuvent pas être essayées sur cette machine (lancez les tests en root)."
        )
    with start_hub(
        extra_env={"INCUBO_LIMITE_MEMOIRE": MEMORY, "INCUBO_LIMITE_PROCESSUS": str(PROCESSES)}
    ) as hub:
        names = [hub.new_user(p) for p in ("hog", "bomb", "spin", "calm")]
        labs = dict(zip(names, hub.labs(*names), strict=True))
        yield hub, labs


def _latencies(lab, kernel: str, n: int) -> list[float]:
    lab.run("x = 1", kernel=kernel)  # warm
    out = []
    for _ in range(n):
        t = time.monotonic()
        result = lab.run(SMALL_CELL, kernel=kernel, timeout=120)
        assert result["error"] is None, result
        out.append(time.monotonic() - t)
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_a_hog_a_bomb_and_a_spin_leave_the_others_running(room):
    hub, labs = room
    hog, bomb, spin, calm = labs.values()
    spin_side = spin.api("POST", "/kernels", json={"name": "python3"}).json()["id"]
    calm_kernel = calm.kernel()
    idle = _latencies(calm, calm_kernel, 20) + _latencies(spin, spin_side, 20)

    results: dict[str, dict] = {}

    def run(name, lab, code, timeout):
        try:
            results[name] = lab.run(code, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[name] = {"exception": repr(exc)}

    spinning = threading.Thread(
        target=run,
        args=("spin", spin, "import time\nt = time.time()\nwhile time.time() - t < 40: pass", 120),
    )
    attacks = [
        threading.Thread(target=run, args=("hog", hog, HOG, 120)),
        threading.Thread(target=run, args=("bomb", bomb, BOMB, 120)),
    ]
    spinning.start()
    for t in attacks:
        t.start()
    busy = _latencies(calm, calm_kernel, 20) + _latencies(spin, spin_side, 20)
    for t in attacks:
        t.join(150)
    spinning.join(150)

    print("idle p95", _p95(idle), "busy p95", _p95(busy), results)
    assert results["hog"].get("error") == "MemoryError", results["hog"]
    assert "limite de mémoire (1 Gio)" in results["hog"].get("display", ""), results["hog"]
    assert results["bomb"].get("error") == "BlockingIOError", results["bomb"]
    assert f"limite de {PROCESSES} processus" in results["bomb"].get("display", ""), results["bomb"]
    assert _p95(busy) <= 3 * _p95(idle), (idle, busy)
