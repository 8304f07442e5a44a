"""Learning events: what a learner's action costs in the notebook, against a blocking POST to Ralph.

Stock way: a widget that sends each statement itself with a synchronous
`requests.post` to the LRS (the notebook waits for Ralph). incubo:
`events.record()` (journal + durable spool, delivery in a background
thread). Both against the same real Ralph (file backend, `deploy/ralph/run_ralph.py`)
on 127.0.0.1, then Ralph stopped: the stock way fails or waits for its
timeout, incubo goes on. Also the first-cell cost (`import incubo.widgets` +
`demarrer`) against `import ipywidgets` alone.

    .venv/bin/python benchmarks/events.py [-n 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness import free_port, http_ok, isolated_env, running  # noqa: E402

USER, PASSWORD = "bench", "bench-motdepasse"


def per_call_ms(fn, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def import_cost(env: dict, code: str, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True)
        best = min(best, time.perf_counter() - t0)
    return best


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200, help="statements per measure")
    return parser.parse_args()


def ralph(work: Path, env: dict) -> tuple[list, dict, str]:
    """Ralph with a file backend and one account in `work`: (command, environment, url)."""
    ralph_env = dict(
        env,
        RALPH_RUNSERVER_BACKEND="fs",
        RALPH_APP_DIR=str(work / "ralph"),
        RALPH_AUTH_FILE=str(work / "ralph" / "auth.json"),
        RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(work / "ralph" / "donnees"),
    )
    (work / "ralph").mkdir()
    ralph_bin = ROOT / ".venv-ralph" / "bin"
    account = ["-u", USER, "-p", PASSWORD, "-s", "all", "-M", "mailto:b@example.org", "-w"]
    subprocess.run(
        [ralph_bin / "ralph", "auth", *account], env=ralph_env, check=True, capture_output=True
    )
    port = free_port()
    cmd = [ralph_bin / "python", ROOT / "deploy" / "ralph" / "run_ralph.py", "--port", str(port)]
    return cmd, ralph_env, f"http://127.0.0.1:{port}"


def stmt() -> dict:
    from incubo import xapi

    return xapi.statement(
        "asked", parcours="bench", module="m", kind="exercice", ident="e",
        extensions={"hint-number": 1},
    )  # fmt: skip


def stock_post(url: str) -> None:
    """What a widget without a spool does: one blocking POST per action."""
    import requests

    requests.post(
        url + "/xAPI/statements",
        json=stmt(),
        auth=(USER, PASSWORD),
        headers={"X-Experience-API-Version": "1.0.3"},
        timeout=5,
    ).raise_for_status()


def stock_when_down(url: str) -> str:
    import requests

    t0 = time.perf_counter()
    try:
        stock_post(url)
        return "accepté ?!"
    except requests.RequestException as exc:
        return f"échec ({type(exc).__name__}) en {(time.perf_counter() - t0) * 1000:.1f} ms : déclaration perdue"


def main() -> None:
    args = parse_args()
    from incubo import events

    work = Path(tempfile.mkdtemp(prefix="incubo-bench-events-"))
    env = isolated_env(work / "env")
    cmd, ralph_env, url = ralph(work, env)
    os.environ.update(
        INCUBO_EVENTS_FILE=str(work / "journal.jsonl"),
        INCUBO_SPOOL_DIR=str(work / "spool"),
        INCUBO_LRS_URL=url,
        INCUBO_LRS_AUTH=f"{USER}:{PASSWORD}",
    )
    with running(cmd, env=ralph_env, ready=lambda: http_ok(url + "/__heartbeat__"), timeout=60):
        stock_post(url)  # warm
        stock_med, stock_max = per_call_ms(lambda: stock_post(url), args.n)
        ours_med, ours_max = per_call_ms(lambda: events.record(stmt()), args.n)
        t0 = time.perf_counter()
        events.wait_delivered(120, retry_now=False)
        drain = time.perf_counter() - t0
    down_ours_med, down_ours_max = per_call_ms(lambda: events.record(stmt()), args.n)
    stock_down = stock_when_down(url)

    first_cell = (
        "from incubo.widgets import demarrer, verifier, indice, solution, Quiz\ndemarrer('x')"
    )
    bare = import_cost(env, "import ipywidgets")
    ours = import_cost(env, first_cell)

    print(f"Déclarations par mesure : {args.n}")
    print(
        f"POST bloquant vers Ralph (stock) : médiane {stock_med:.2f} ms, max {stock_max:.2f} ms par action"
    )
    print(
        f"events.record() avec Ralph       : médiane {ours_med:.2f} ms, max {ours_max:.2f} ms par action"
        f"  -> ratio stock/incubo {stock_med / ours_med:.1f}x"
    )
    print(
        f"  livraison en arrière-plan de {args.n} déclarations : {drain:.2f} s après la dernière action"
    )
    print(
        f"Ralph arrêté : events.record() médiane {down_ours_med:.2f} ms, max {down_ours_max:.2f} ms (mis en attente) ;"
        f" stock : {stock_down}"
    )
    print(
        f"Première cellule : import ipywidgets {bare:.2f} s ; import incubo.widgets + demarrer {ours:.2f} s"
        f" (ratio {ours / bare:.2f})"
    )


if __name__ == "__main__":
    main()
