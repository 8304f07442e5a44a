"""A room logging in at 9:00: `incubo hub` with a warm room against a stock JupyterHub.

N learners log in at the same moment (HTTP login form, spawn, open a
lesson, execute its first cell in a kernel through the server's REST and
websocket API). Per learner: seconds from login to the first executed
cell; median, p95, max, failures; memory per learner (server + kernel
RSS). The same in one run for a stock JupyterHub of the same version
(DummyAuthenticator, SimpleLocalProcessSpawner as root, its own proxy,
`http_timeout = 60`, no warm-up), and the ratio of p95s (target ≤ 0.5).
Then the hub is stopped with SIGTERM in the middle of the session and
started again: every learner's saved file, running server, kernel and login
must still be there (the stock hub loses every server).

Not a test: run it by hand, as root, on an otherwise idle machine:
`python benchmarks/hub.py --learners 30` (`--learners 5` while developing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_hub import jupyterhub  # noqa: E402
from harness import BIN  # noqa: E402
from hub_support import PASSWORD, LabClient, start_hub  # noqa: E402

LESSON = ROOT / "courses" / "premiers-pas" / "01-lecon-notebook.md"
LEARNER_TIMEOUT = 600


def lesson_notebook() -> tuple[str, str]:
    """The first lesson of « Premiers pas » as .ipynb JSON, and its first code cell."""
    import jupytext
    import nbformat

    nb = jupytext.read(LESSON)
    first = next(cell.source for cell in nb.cells if cell.cell_type == "code")
    return nbformat.writes(nb), first


class Room:
    """What a learner's client needs from a hub: its URL (LabClient's interface)."""

    def __init__(self, url: str) -> None:
        self.url = url


def login(url: str, session: requests.Session, name: str, password: str) -> None:
    session.get(f"{url}/hub/login", timeout=60)
    r = session.post(
        f"{url}/hub/login?next=",
        data={"username": name, "password": password, "_xsrf": session.cookies.get("_xsrf", "")},
        timeout=LEARNER_TIMEOUT,
    )  # follows the redirects: /hub/spawn starts the server, then the waiting page
    if r.status_code >= 400:
        raise RuntimeError(f"login: HTTP {r.status_code}")


def open_lab(url: str, session: requests.Session, name: str, deadline: float) -> None:
    """Load the learner's JupyterLab page until it is served (the waiting page reloads the same way)."""
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            r = session.get(f"{url}/user/{name}/lab", timeout=120)  # OAuth with the hub on the way
            if r.status_code == 200 and r.url.split("?")[0].endswith(f"/user/{name}/lab"):
                return
            if "/hub/spawn-pending/" not in r.url and "/hub/user/" in r.url:
                session.get(
                    f"{url}/hub/spawn/{name}", timeout=60
                )  # not started (or failed): ask again
        time.sleep(0.5)
    raise TimeoutError("server not ready")


def learner_run(
    url: str, name: str, password: str, lesson: str, first_cell: str, out: dict
) -> None:
    """One learner from the login form to the lesson's first cell executed; fills `out`."""
    start = time.monotonic()
    deadline = start + LEARNER_TIMEOUT
    try:
        session = requests.Session()
        login(url, session, name, password)
        open_lab(url, session, name, deadline)
        lab = LabClient(Room(url), session, name)
        r = lab.api(
            "PUT",
            "/contents/lecon.ipynb",
            json={"type": "notebook", "format": "json", "content": json.loads(lesson)},
        )
        if r.status_code not in (200, 201):
            raise RuntimeError(f"lesson: HTTP {r.status_code}")
        kernel = lab.kernel("lecon.ipynb")
        result = lab.run(first_cell, kernel=kernel, timeout=max(10, deadline - time.monotonic()))
        if result["error"] or "Bonjour" not in result["stdout"]:
            raise RuntimeError(f"cell: {result}")
        out["seconds"] = time.monotonic() - start
        out["lab"], out["kernel"] = lab, kernel
    except Exception as exc:  # noqa: BLE001 - a failure is a measured outcome
        out["error"] = f"{type(exc).__name__}: {exc}"[:200]


def session_at_nine(url: str, names: list[str], password: str) -> dict[str, dict]:
    """Every learner at once; returns {name: {'seconds' or 'error', ...}}."""
    lesson, first = lesson_notebook()
    results = {name: {} for name in names}
    threads = [
        threading.Thread(target=learner_run, args=(url, n, password, lesson, first, results[n]))
        for n in names
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def memory_per_learner(names: list[str]) -> float:
    """Mean RSS (MB) of each learner's server and kernels, grouped by JUPYTERHUB_USER."""
    wanted = set(names)
    per: dict[str, int] = {}
    for proc in psutil.process_iter(["memory_info"]):
        with contextlib.suppress(psutil.Error):
            user = proc.environ().get("JUPYTERHUB_USER")
            if user in wanted:
                per[user] = per.get(user, 0) + proc.info["memory_info"].rss
    return statistics.mean(per.values()) / 2**20 if per else float("nan")


def summary(results: dict[str, dict]) -> dict:
    times = sorted(r["seconds"] for r in results.values() if "seconds" in r)
    failures = [f"{n}: {r['error']}" for n, r in results.items() if "error" in r]
    if not times:
        return {
            "ok": 0,
            "failures": failures,
            "median": float("nan"),
            "p95": float("nan"),
            "max": float("nan"),
        }
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return {
        "ok": len(times),
        "failures": failures,
        "median": statistics.median(times),
        "p95": p95,
        "max": times[-1],
    }


# --- stock JupyterHub ---------------------------------------------------------


@contextlib.contextmanager
def stock_hub():
    """JupyterHub 'as documented': dummy login, simple spawner as root, JupyterHub's own proxy."""
    work = Path(tempfile.mkdtemp(prefix="incubo-bench-stock-"))
    (work / "homes").mkdir()
    config = (
        "c.JupyterHub.authenticator_class = 'dummy'\n"
        "c.JupyterHub.spawner_class = 'simple'\n"
        f"c.SimpleLocalProcessSpawner.home_dir_template = {str(work / 'homes' / '{username}')!r}\n"
        "c.Spawner.args = ['--allow-root']\n"
        "c.Spawner.http_timeout = 60\n"
    )
    try:
        with jupyterhub(work, lambda url: config, stock_hub_ready, timeout=120) as (url, proc):
            yield url, proc
    finally:
        for p in psutil.process_iter(
            ["cmdline"]
        ):  # servers it may have left (started in their own sessions)
            with contextlib.suppress(psutil.Error):
                if str(work) in " ".join(p.info["cmdline"] or []) or str(work) in (p.cwd() or ""):
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


def stock_hub_ready(url: str) -> bool:
    try:
        return requests.get(f"{url}/hub/login", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def servers_alive(names: list[str]) -> int:
    """How many of these learners still have a single-user server process."""
    wanted, alive = set(names), set()
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if "singleuser" in " ".join(proc.info["cmdline"] or []):
                user = proc.environ().get("JUPYTERHUB_USER")
                if user in wanted:
                    alive.add(user)
    return len(alive)


def run_stock(names: list[str]) -> tuple[dict, float, int]:
    with stock_hub() as (url, proc):
        results = session_at_nine(url, names, "x")
        mem = memory_per_learner(names)
        before = servers_alive(names)
        os.killpg(proc.pid, signal.SIGTERM)  # the stock hub stopped mid-session
        proc.wait(120)
        return results, mem, before - servers_alive(names)


# --- incubo hub ---------------------------------------------------------------


def restart_keeps_everything(hub, results: dict[str, dict]) -> dict[str, int]:
    """SIGTERM `incubo hub` mid-session and start it again; count what each learner lost."""
    labs = {n: r for n, r in results.items() if "lab" in r}
    for i, (name, r) in enumerate(labs.items()):
        r["lab"].save(f"travail-{i}.txt", f"travail de {name}\n")
        r["lab"].run(f"mon_resultat = {i}", kernel=r["kernel"])
    hub.stop(signal.SIGTERM)
    hub.start()
    lost = {"fichiers": 0, "serveurs": 0, "noyaux": 0, "connexions": 0}
    for i, (name, r) in enumerate(labs.items()):
        lab = r["lab"]
        if lab.read(f"travail-{i}.txt") != f"travail de {name}\n":
            lost["fichiers"] += 1
        if not (hub.user_model(name).get("servers") or {}).get("", {}).get("ready"):
            lost["serveurs"] += 1
        try:
            kept = lab.run("print(mon_resultat)", kernel=r["kernel"], timeout=120)[
                "stdout"
            ].strip() == str(i)
        except Exception:  # noqa: BLE001
            kept = False
        lost["noyaux"] += not kept
        if (
            lab.session.get(f"{hub.url}/hub/home", allow_redirects=False, timeout=60).status_code
            != 200
        ):
            lost["connexions"] += 1
    return lost


def keep_logs(hub, results: dict[str, dict]) -> None:
    """When a learner failed, copy the hub's logs (learners' servers log there too) out of the room."""
    if not any("error" in r for r in results.values()):
        return
    keep = Path(tempfile.mkdtemp(prefix="incubo-bench-logs-"))
    for log in [*hub.base.glob("incubo-hub-*.log"), *(hub.hub_dir / "logs").glob("*")]:
        with contextlib.suppress(OSError):
            shutil.copy(log, keep / log.name)
    print(f"a learner failed: the hub's logs are kept in {keep}", file=sys.stderr)


def run_incubo(names: list[str]) -> tuple[dict, float, float, dict]:
    with start_hub() as hub:
        t = time.monotonic()
        warm = subprocess.run(
            [str(BIN / "incubo"), "hub", "prechauffer", *names, "--course-dir", str(hub.course_dir)],
            env=hub.env, capture_output=True, text=True, timeout=3600,
        )  # fmt: skip
        warm_seconds = time.monotonic() - t
        if warm.returncode != 0:
            print(warm.stderr[-2000:], file=sys.stderr)
        results = session_at_nine(hub.url, names, PASSWORD)
        mem = memory_per_learner(names)
        lost = restart_keeps_everything(hub, results)
        keep_logs(hub, results)
        return results, mem, warm_seconds, lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--learners", type=int, default=30, help="learners logging in at once (default 30)"
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the room creates one Unix account per learner", file=sys.stderr)
        return 2
    n = args.learners
    load_before = os.getloadavg()
    tag = secrets.token_hex(2)
    stock_results, stock_mem, stock_lost = run_stock([f"s{tag}{i:02d}" for i in range(n)])
    ours_results, ours_mem, warm_seconds, lost = run_incubo([f"b{tag}{i:02d}" for i in range(n)])
    stock, ours = summary(stock_results), summary(ours_results)

    print(
        f"\n{n} learners logging in at once — {os.cpu_count()} cores, load average before {load_before[0]:.1f}"
    )
    print(f"{'':34}{'stock JupyterHub':>18}{'incubo hub':>14}")
    print(f"{'succeeded':34}{stock['ok']:>15}/{n:<2}{ours['ok']:>11}/{n:<2}")
    for key in ("median", "p95", "max"):
        print(f"{'login → first cell, ' + key + ' (s)':34}{stock[key]:>18.1f}{ours[key]:>14.1f}")
    print(f"{'memory per learner (MB, RSS)':34}{stock_mem:>18.0f}{ours_mem:>14.0f}")
    print(f"{'warm-up before 9:00 (s)':34}{'—':>18}{warm_seconds:>14.1f}")
    print(f"{'servers lost to a hub SIGTERM':34}{stock_lost:>18}{lost['serveurs']:>14}")
    ratio = (
        ours["p95"] / stock["p95"]
        if stock["p95"] == stock["p95"] and stock["p95"]
        else float("nan")
    )
    print(f"\np95 ratio incubo / stock: {ratio:.2f} (target ≤ 0.5)")
    total = psutil.virtual_memory().total / 2**20
    print(
        f"machine memory {total:.0f} MB → about {int((total - 1024) // ours_mem)} learners (1 GB kept for system and hub)"
    )
    print(f"after SIGTERM + restart of incubo hub, lost: {lost}")
    for failure in stock["failures"] + ours["failures"]:
        print("failure:", failure)
    return 0 if ours["ok"] == n and not any(lost.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
