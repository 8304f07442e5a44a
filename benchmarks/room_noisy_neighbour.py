"""One noisy neighbour in a room of thirty: the others' cell latency with and without a memory hog.

N learners log in (as in `benchmarks/hub.py`), each with a kernel; then
every learner but one runs small cells in a loop (a little real work each,
as a learner does all day) and we record each cell's round trip. First in a
quiet room, then while learner 0 runs a memory hog that fills memory and
keeps rewriting it (what `pd.concat([df] * 10**6)` in a loop does to a
machine). Printed side by side for `incubo hub` (each learner in a control
group of their own: `incubo.hub.limits`) and a stock JupyterHub
(LocalProcessSpawner, no limit), measured in the same run.

On the stock hub the hog is capped at `--hog-gib` (default 6 GiB) so that it
never endangers this machine; under incubo it stops at the learner's limit
(`INCUBO_LIMITE_MEMOIRE`, default 2 GiB) with a French message.

Not a test: run it by hand, as root, on an otherwise idle machine:
`python benchmarks/room_noisy_neighbour.py --learners 30` (`--learners 6` while developing).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from hub_support import PASSWORD, start_hub, unique_name  # noqa: E402

from hub import session_at_nine, stock_hub  # noqa: E402

SMALL_CELL = "sum(i * i for i in range(100_000))"


def hog_code(cap_gib: float) -> str:
    return (
        "blocs = []\n"
        f"while len(blocs) < {int(cap_gib * 16)}:\n"
        "    blocs.append(bytearray(b'x' * (64 * 1024 * 1024)))\n"
        "while True:\n"  # then keep rewriting it: memory bandwidth and a core
        "    for b in blocs:\n"
        "        b[::4096] = b'y' * len(b[::4096])\n"
    )


def latencies(labs: list[tuple], seconds: float) -> list[float]:
    """Every learner runs small cells for `seconds`; returns each cell's round trip."""
    out: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def learner(lab, kernel):
        while time.monotonic() < stop_at:
            t = time.monotonic()
            try:
                lab.run(SMALL_CELL, kernel=kernel, timeout=120)
            except Exception:  # noqa: BLE001 - a lost cell counts as the whole timeout
                with lock:
                    out.append(120.0)
                continue
            with lock:
                out.append(time.monotonic() - t)

    threads = [threading.Thread(target=learner, args=pair) for pair in labs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else float("nan")


def measure(results: dict[str, dict], cap_gib: float, seconds: float) -> dict:
    ready = [(n, r) for n, r in results.items() if "lab" in r]
    if len(ready) < 2:
        return {"failures": [r.get("error") for r in results.values() if "error" in r]}
    (_, hog), others = ready[0], [(r["lab"], r["kernel"]) for _, r in ready[1:]]
    quiet = latencies(others, seconds)
    hog_out: dict = {}

    def run_hog():
        try:
            hog_out.update(
                hog["lab"].run(hog_code(cap_gib), kernel=hog["kernel"], timeout=seconds + 60)
            )
        except Exception as exc:  # noqa: BLE001 - the stock hub's hog never ends: the timeout stops it
            hog_out["fin"] = type(exc).__name__

    thread = threading.Thread(target=run_hog, daemon=True)
    thread.start()
    time.sleep(min(10.0, seconds / 3))  # let it grow
    noisy = latencies(others, seconds)
    return {
        "learners": len(ready),
        "quiet_p95": p95(quiet),
        "noisy_p95": p95(noisy),
        "cells": (len(quiet), len(noisy)),
        "hog": hog_out.get("error") or hog_out.get("fin") or "toujours en cours",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=30, help="measuring window, each phase")
    parser.add_argument(
        "--hog-gib", type=float, default=6.0, help="the stock hub's hog stops there"
    )
    args = parser.parse_args()
    names = [unique_name("v") for _ in range(args.learners)]
    with start_hub() as hub:
        incubo = measure(session_at_nine(hub.url, names, PASSWORD), args.hog_gib, args.seconds)
    with stock_hub() as (url, _proc):
        stock = measure(session_at_nine(url, names, "x"), args.hog_gib, args.seconds)
    print(f"{args.learners} learners, one memory hog; the others' p95 cell round trip (s)")
    print(f"{'':24}{'quiet':>10}{'with hog':>10}{'ratio':>8}  hog")
    for label, r in (("incubo hub (limits)", incubo), ("stock JupyterHub", stock)):
        if "quiet_p95" not in r:
            print(f"{label:24} failed: {r}")
            continue
        ratio = r["noisy_p95"] / r["quiet_p95"]
        print(f"{label:24}{r['quiet_p95']:>10.3f}{r['noisy_p95']:>10.3f}{ratio:>8.2f}  {r['hog']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
