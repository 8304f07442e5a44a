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
import json
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
from harness import BIN, CHROMIUM, CHROMIUM_ARGS, free_port, http_ok, isolated_env, running  # noqa: E402

from incubo import xapi  # noqa: E402
from incubo.hub import lrs_keys  # noqa: E402

XAPI = {"X-Experience-API-Version": "1.0.3"}
PASSWORD = "banc-motdepasse"
CONFIG = """
from pathlib import Path
from types import SimpleNamespace
from incubo.hub.services import configure_services
c.JupyterHub.bind_url = "{url}"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.ConfigurableHTTPProxy.command = ["{chp}"]
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.JupyterHub.db_url = "sqlite:///{hub_dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{hub_dir}/cookie_secret"
c.JupyterHub.load_groups = {{"formgrade-incubo": {{"users": ["formateur"]}}}}
configure_services(c, SimpleNamespace(hub_dir=Path("{hub_dir}"), course_id="incubo",
                   course_dir=Path("{course_dir}"), public_url="{url}"))
"""


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--history", type=int, default=60, help="statements per learner already in the LRS"
    )
    parser.add_argument(
        "--idle", type=float, default=15.0, help="seconds of CPU sampling with the page open"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="incubo-bench-dashboard-"))
    env = isolated_env(work / "env")
    hub_dir, course_dir = work / "hub", work / "cours"
    for d in (hub_dir, course_dir):
        d.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    (work / "jupyterhub_config.py").write_text(
        CONFIG.format(
            url=url,
            hub_port=free_port(),
            proxy_port=free_port(),
            chp=ROOT / "node_modules" / ".bin" / "configurable-http-proxy",
            password=PASSWORD,
            hub_dir=hub_dir,
            course_dir=course_dir,
        )  # fmt: skip
    )
    secret = lrs_keys.gate_secret(hub_dir)
    ports = (
        json.loads((hub_dir / "lrs" / "ports.json").read_text())
        if (hub_dir / "lrs" / "ports.json").exists()
        else None
    )
    cmd = [BIN / "jupyterhub", "-f", work / "jupyterhub_config.py"]

    def ready() -> bool:
        nonlocal ports
        if not (hub_dir / "lrs" / "ports.json").exists():
            return False
        ports = json.loads((hub_dir / "lrs" / "ports.json").read_text())
        return (
            http_ok(url + "/hub/api")
            and requests.get(f"{url}/services/lrs/__heartbeat__", timeout=2).status_code == 200
        )

    with running(
        cmd, env=env, cwd=work, ready=ready, timeout=180, log=work / "hub.log"
    ) as hub_proc:
        gate = f"http://127.0.0.1:{ports['lrs']}/services/lrs/"
        learners = [f"agent{i:02d}" for i in range(args.learners)]
        auths = {who: tuple(lrs_keys.learner_auth(secret, who).rsplit(":", 1)) for who in learners}
        # an hour of session already in the LRS
        for who in learners:
            batch = [stmt(who, url, -1 - k) for k in range(args.history)]
            requests.post(
                gate + "xAPI/statements", json=batch, auth=auths[who], headers=XAPI, timeout=60
            ).raise_for_status()
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
            )
            page = browser.new_context(locale="fr-FR", bypass_csp=True).new_page()
            page.goto(url + "/hub/login")
            page.fill("#username_input", "formateur")
            page.fill("#password_input", PASSWORD)
            page.click("#login_submit")
            page.wait_for_load_state()
            page.goto(url + "/services/tableau-de-bord/")
            page.wait_for_function(
                f"document.querySelectorAll('#personnes tbody tr').length >= {args.learners}",
                timeout=120_000,
            )

            def counts() -> dict[str, int]:
                rows = page.evaluate(
                    "() => [...document.querySelectorAll('#personnes tbody tr')].map(r => [r.cells[0].innerText, r.cells[1].innerText])"
                )
                return {name.split(" (")[0]: int(n) for name, n in rows}

            base = counts()
            latencies: list[float] = []
            posted: list[float] = []
            for r in range(1, args.rounds + 1):
                start: dict[str, float] = {}
                barrier = threading.Barrier(len(learners))

                def check(
                    who: str, r: int = r, barrier: threading.Barrier = barrier, start: dict = start
                ) -> None:
                    s = stmt(who, url, 1000 + r)
                    barrier.wait()
                    start[who] = time.monotonic()
                    requests.post(
                        gate + "xAPI/statements",
                        json=[s],
                        auth=auths[who],
                        headers=XAPI,
                        timeout=60,
                    ).raise_for_status()
                    posted.append(time.monotonic() - start[who])

                threads = [threading.Thread(target=check, args=(who,)) for who in learners]
                for t in threads:
                    t.start()
                waiting = set(learners)
                deadline = time.monotonic() + 60
                while waiting and time.monotonic() < deadline:
                    now = time.monotonic()
                    seen = counts()
                    for who in list(waiting):
                        if who in start and seen.get(who, 0) >= base[who] + r:
                            latencies.append(now - start[who])
                            waiting.discard(who)
                    time.sleep(0.05)
                for t in threads:
                    t.join()
                if waiting:
                    print(f"round {r}: {len(waiting)} check(s) never shown within 60 s")
            # CPU while the page stays open: per read of the LRS (every INCUBO_DASHBOARD_POLL s when idle)
            hub = psutil.Process(hub_proc.pid)
            procs = service_procs(hub)
            ours = [procs["dashboard"], procs["gate"], procs["ralph"]]
            stats = (
                "async () => (await fetch('statistiques', {headers: {'X-XSRFToken': XSRF}})).json()"
            )
            reads0, before = page.evaluate(stats)["lectures"], cpu(ours)
            time.sleep(args.idle)
            reads1, after = page.evaluate(stats)["lectures"], cpu(ours)
            incremental = (after - before) / max(1, reads1 - reads0)
            browser.close()
        reader = lrs_keys.reader_auth(secret, "formateurs")
        stock = full_reread_cpu(gate, reader, [procs["ralph"], procs["gate"]], 5)

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
