"""The room's dashboard on the hub: from a learner's « Vérifier » to the trainer's screen, and its CPU cost.

A real JupyterHub with the room's services (`incubo.hub.services`: Ralph
behind the LRS gate, the `tableau-de-bord` service), a trainer's real
browser (Chromium) on `/services/tableau-de-bord/`, and thirty simulated
learners who each POST one `attempted` statement through the gate with
their own credentials, all at once, for several rounds. Latency: from the
start of a learner's POST (what their kernel's spool does right after
« Vérifier ») to the moment the trainer's page shows that check (the
learner's « Vérifications » count), read from the page's DOM every 50 ms.

CPU per refresh: the CPU of the dashboard service + gate + Ralph while the
page stays open, divided by the number of LRS reads (one per
`INCUBO_DASHBOARD_POLL` second). Compared in the same run with the stock
way of reading an LRS, re-reading every statement at each refresh.

    .venv/bin/python benchmarks/dashboard.py [--learners 30] [--rounds 5] [--history 60]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psutil  # noqa: E402
import requests  # noqa: E402
from bench_hub import services_hub, trainer_page  # noqa: E402
from harness import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

from incubo import xapi  # noqa: E402
from incubo.hub import lrs_keys  # noqa: E402

XAPI = {"X-Experience-API-Version": "1.0.3"}


def stmt(who: str, url: str, n: int) -> dict:
    return xapi.statement(
        "attempted", parcours="banc", module="m1", kind="exercice", ident=f"e{n % 5}", actor_name=who, homepage=url,
        result={"success": False}, extensions={"verdict": "incorrect", "attempt": n},
    )  # fmt: skip


def cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        t = p.cpu_times()
        total += t.user + t.system
    return total


def service_procs(hub: psutil.Process) -> dict[str, psutil.Process]:
    found = {}
    for child in hub.children(recursive=True):
        line = " ".join(child.cmdline())
        for key, marker in (
            ("dashboard", "incubo.hub.dashboard"),
            ("gate", "incubo.hub.lrs_gate"),
            ("ralph", "ralph_service.py"),
        ):
            if marker in line:
                found[key] = child
    return found


def full_reread_cpu(gate: str, reader: str, ralph: list[psutil.Process], rounds: int) -> float:
    """Stock LRS client: every refresh re-reads all statements (here, in this process) and rebuilds the view."""
    from incubo import lrs
    from incubo.hub import room_view

    me = psutil.Process()
    before = cpu([*ralph, me])
    for _ in range(rounds):
        found = lrs.read_statements(gate, auth=reader, timeout=60)
        room_view.room_view(found, {})
    return (cpu([*ralph, me]) - before) / rounds


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--history", type=int, default=60, help="statements per learner already in the LRS"
    )
    parser.add_argument(
        "--idle", type=float, default=15.0, help="seconds of CPU sampling with the page open"
    )
    return parser.parse_args()


def post(gate: str, auth: tuple[str, str], statements: list[dict]) -> None:
    requests.post(
        gate + "xAPI/statements", json=statements, auth=auth, headers=XAPI, timeout=60
    ).raise_for_status()


def open_dashboard(browser, url: str, learners: int):
    """The trainer's dashboard once it lists every learner."""
    page = trainer_page(browser, url)
    page.goto(url + "/services/tableau-de-bord/")
    page.wait_for_function(
        f"document.querySelectorAll('#personnes tbody tr').length >= {learners}",
        timeout=120_000,
    )
    return page


def counts(page) -> dict[str, int]:
    """Each learner's « Vérifications » count, as the dashboard shows it."""
    rows = page.evaluate(
        "() => [...document.querySelectorAll('#personnes tbody tr')]"
        ".map(r => [r.cells[0].innerText, r.cells[1].innerText])"
    )
    return {name.split(" (")[0]: int(n) for name, n in rows}


def one_round(r: int, page, url: str, gate: str, auths: dict, base: dict, latencies, posted):
    """Every learner checks an exercise at once; each check's delay until the page shows it."""
    start: dict[str, float] = {}
    barrier = threading.Barrier(len(auths))

    def check(who: str) -> None:
        s = stmt(who, url, 1000 + r)
        barrier.wait()
        start[who] = time.monotonic()
        post(gate, auths[who], [s])
        posted.append(time.monotonic() - start[who])

    threads = [threading.Thread(target=check, args=(who,)) for who in auths]
    for t in threads:
        t.start()
    waiting = set(auths)
    deadline = time.monotonic() + 60
    while waiting and time.monotonic() < deadline:
        now = time.monotonic()
        seen = counts(page)
        for who in list(waiting):
            if who in start and seen.get(who, 0) >= base[who] + r:
                latencies.append(now - start[who])
                waiting.discard(who)
        time.sleep(0.05)
    for t in threads:
        t.join()
    if waiting:
        print(f"round {r}: {len(waiting)} check(s) never shown within 60 s")


def idle_cpu(page, hub_pid: int, seconds: float) -> tuple[float, dict]:
    """CPU of dashboard + gate + Ralph per read of the LRS while the page stays open."""
    procs = service_procs(psutil.Process(hub_pid))
    ours = [procs["dashboard"], procs["gate"], procs["ralph"]]
    stats = "async () => (await fetch('statistiques', {headers: {'X-XSRFToken': XSRF}})).json()"
    reads0, before = page.evaluate(stats)["lectures"], cpu(ours)
    time.sleep(seconds)
    reads1, after = page.evaluate(stats)["lectures"], cpu(ours)
    return (after - before) / max(1, reads1 - reads0), procs


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="incubo-bench-dashboard-"))
    hub_dir, course_dir = work / "hub", work / "cours"
    for d in (hub_dir, course_dir):
        d.mkdir()
    secret = lrs_keys.gate_secret(hub_dir)
    latencies: list[float] = []
    posted: list[float] = []
    with services_hub(work, hub_dir, course_dir) as room:
        url, gate = room.url, room.gate
        learners = [f"agent{i:02d}" for i in range(args.learners)]
        auths = {who: tuple(lrs_keys.learner_auth(secret, who).rsplit(":", 1)) for who in learners}
        for who in learners:  # an hour of session already in the LRS
            post(gate, auths[who], [stmt(who, url, -1 - k) for k in range(args.history)])
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            page = open_dashboard(browser, url, args.learners)
            base = counts(page)
            for r in range(1, args.rounds + 1):
                one_round(r, page, url, gate, auths, base, latencies, posted)
            incremental, procs = idle_cpu(page, room.proc.pid, args.idle)
            browser.close()
        reader = lrs_keys.reader_auth(secret, "formateurs")
        stock = full_reread_cpu(gate, reader, [procs["ralph"], procs["gate"]], 5)
    print_report(args, latencies, posted, incremental, stock)


def print_report(
    args, latencies: list[float], posted: list[float], incremental: float, stock: float
):
    total = args.learners * (args.history + args.rounds)
    latencies.sort()
    p95 = latencies[max(0, int(round(0.95 * len(latencies))) - 1)] if latencies else float("nan")
    print(
        f"{args.learners} learners acting at once, {args.rounds} rounds, {total} statements in the LRS"
    )
    print(f"« Vérifier » → trainer's page: median {statistics.median(latencies):.2f} s, p95 {p95:.2f} s, "
          f"max {latencies[-1]:.2f} s over {len(latencies)} checks (target: 5 s)")  # fmt: skip
    print(
        f"  of which the POST through the gate to Ralph (all at once): median {statistics.median(posted):.2f} s"
    )
    print(
        "  stock (the single-machine dashboard: Voila, journals re-read every 30 s): about 15 s median by design"
    )
    print(
        f"CPU per refresh, incremental read (dashboard + gate + Ralph): {1000 * incremental:.0f} ms"
    )
    print(f"CPU per refresh, stock full re-read of the LRS:               {1000 * stock:.0f} ms")
    if incremental > 0:
        print(f"ratio stock / incubo: {stock / incremental:.1f}×")


if __name__ == "__main__":
    main()
