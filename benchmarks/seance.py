"""A séance's live poll on the hub: from a learner's answer to the room's screen showing it.

A real JupyterHub with the room's services (`incubo.hub.services`: Ralph
behind the LRS gate, the `tableau-de-bord` service and its séance routes), a
course with one module, a séance opened on it by `incubo.hub.seance_ops`
(what `incubo seance ouvrir` and the dashboard's « Séance » panel call), and
the trainer's real browser (Chromium) on the séance's projection page
(`/services/tableau-de-bord/seance/<CODE>/projection`).

Each round the trainer launches a new question (`seance_ops.launch_poll`);
once the projection shows it, thirty simulated learners POST one `answered`
statement each through the gate (object `Poll.activity(seance)`,
`result.response`, `context.registration` = the séance's), all at once, with
their own LRS credentials (`incubo.hub.lrs_keys`): what a learner's server
does once its panel has recorded the answer (`incubo.events.record` wakes the
spool's sender at once). Not included: the hop from the learner's browser to
their server and the spool's file write.

Latency of one answer: from the start of its POST to the first moment the
projection shows an answer count at least equal to its rank. Answers are
anonymous on the projection, so they are ranked by send time: the k-th answer
sent is « shown » when the page first says « k réponses reçues » or more.
The count is read from the page's DOM (`#sondage`: « N réponses reçues »)
by a MutationObserver inside the page, timestamped with the page's
`Date.now()` (the same machine's clock as the POSTs' `time.time()`). If the
page gives no count, the benchmark falls back to the count the page receives
(`donnees?depuis=N`, `sondage.reponses`) and says so.

No stock tool does this: nbgrader knows nothing of an answer until the
notebook is submitted and collected (its maintainers called live analytics
very hard, nbgrader #942), and polling sites (Mentimeter, PollEverywhere)
are outside the notebook and the research data. The nearest stock figure is
incubo's own one-machine dashboard (Voila), which re-reads the journals every
`INCUBO_DASHBOARD_REFRESH` seconds (30 by default): printed beside ours.

    .venv/bin/python benchmarks/seance.py [--learners 30] [--rounds 5] [--history 60]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
import seance_support  # noqa: E402
from harness import BIN, CHROMIUM, CHROMIUM_ARGS, free_port, http_ok, isolated_env, running  # noqa: E402
from seance_support import MODULE  # noqa: E402

from incubo import xapi  # noqa: E402
from incubo.config import DEFAULT_DASHBOARD_REFRESH, hub_settings  # noqa: E402
from incubo.hub import lrs_keys, seance_ops  # noqa: E402
from incubo.seance import Poll, Seance  # noqa: E402

XAPI = {"X-Experience-API-Version": "1.0.3"}
PASSWORD = "banc-motdepasse"
TARGET = 5.0  # the issue's « ≤ 5 s after a learner's action »
OPTIONS = ["Lundi", "Mardi", "Jeudi", "Vendredi"]
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

#: Installed in the projection page: logs [Date.now(), question shown, answer count shown] at each change.
WATCH_DOM = """() => {
  window.__banc = [];
  let last = "";
  const read = () => {
    const box = document.getElementById("sondage");
    if (!box) return;
    const q = box.querySelector(".question");
    const text = box.innerText || "";
    const revealed = /Bonne réponse/.test(text);
    let n = null;
    if (/Pas encore de réponse/.test(text)) n = 0;
    const m = text.match(/(\\d+)\\s+réponses?\\s+reçues?/);
    if (m) n = Number(m[1]);
    const entry = [q ? q.textContent : null, n, revealed];
    const key = JSON.stringify(entry);
    if (key !== last) { last = key; window.__banc.push([Date.now(), ...entry]); }
  };
  new MutationObserver(read).observe(document.body, {subtree: true, childList: true, characterData: true});
  read();
}"""

#: Fallback when the DOM gives no count: the page's own data, long-polled like the page does.
WATCH_DATA = """() => {
  window.__banc = [];
  window.__bancStop = false;
  (async () => {
    let version = -1, last = "";
    while (!window.__bancStop) {
      try {
        const r = await fetch("donnees?depuis=" + version, {credentials: "same-origin", cache: "no-store", headers: {"X-XSRFToken": XSRF}});
        const d = await r.json();
        version = d.version;
        const p = d.sondage;
        const entry = [p ? p.question : null, p ? p.reponses : null, p ? !!p.revele : false];
        const key = JSON.stringify(entry);
        if (key !== last) { last = key; window.__banc.push([Date.now(), ...entry]); }
      } catch (e) { await new Promise(ok => setTimeout(ok, 200)); }
    }
  })();
}"""


def make_course(course_dir: Path, hub_dir: Path) -> None:
    """The séance tests' course (tests/seance_support.py), and the hub's exchange."""
    seance_support.make_course(course_dir)
    (hub_dir / "exchange" / "incubo" / "outbound").mkdir(parents=True)


def history(who: str, url: str, n: int) -> dict:
    """A statement from before the séance (the LRS is not empty on the day)."""
    return xapi.statement(
        "attempted", parcours="essai", module=MODULE, kind="exercice", ident="ex-moyenne",
        actor_name=who, homepage=url, result={"success": False},
        extensions={"verdict": "incorrect", "attempt": n},
    )  # fmt: skip


def joined(seance: Seance, who: str, url: str) -> dict:
    """The learner opens the séance's first step (so the projection counts them as participants)."""
    return xapi.statement(
        "experienced", parcours=seance.parcours, module=seance.module, kind="lecon",
        ident=seance.steps[0], registration=seance.registration, actor_name=who, homepage=url,
    )  # fmt: skip


def answer(seance: Seance, poll: Poll, who: str, url: str, response: str) -> dict:
    """What a learner's lab panel records (incubo.events.record) when they click « Répondre »."""
    stmt = xapi.statement(
        "answered", parcours=seance.parcours, module=seance.module, kind="quiz",
        ident=f"seance-{seance.code}-{poll.id}", result={"response": response},
        registration=seance.registration, actor_name=who, homepage=url,
    )  # fmt: skip
    assert xapi.object_iri(stmt) == poll.activity(seance)
    return stmt


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(round(0.95 * len(ordered))) - 1)] if ordered else float("nan")


def fmt(seconds: float) -> str:
    return f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learners", type=int, default=30)
    parser.add_argument(
        "--rounds", type=int, default=5, help="questions asked, one after the other"
    )
    parser.add_argument(
        "--history", type=int, default=60, help="statements per learner already in the LRS"
    )
    parser.add_argument(
        "--source",
        choices=("dom", "donnees"),
        default="dom",
        help="where the count is read (dom: the projection's text; donnees: its JSON)",
    )
    args = parser.parse_args()
    rng = random.Random(15)

    work = Path(tempfile.mkdtemp(prefix="incubo-bench-seance-"))
    env = isolated_env(work / "env")
    hub_dir, course_dir = work / "hub", work / "cours"
    for d in (hub_dir, course_dir):
        d.mkdir()
    make_course(course_dir, hub_dir)
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
    settings = hub_settings(
        env={"INCUBO_HUB_DIR": str(hub_dir), "INCUBO_COURSE_DIR": str(course_dir)},
        public_url=url,
    )
    secret = lrs_keys.gate_secret(hub_dir)
    ports: dict = {}
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

    latencies: list[float] = []
    posted: list[float] = []
    launch_shown: list[float] = []
    reveal_shown: list[float] = []
    missing = 0
    shown_names: list[str] = []
    slowest: list[float] = []
    source = args.source
    with running(cmd, env=env, cwd=work, ready=ready, timeout=180, log=work / "hub.log"):
        gate = f"http://127.0.0.1:{ports['lrs']}/services/lrs/"
        learners = [f"agent{i:02d}" for i in range(args.learners)]
        auths = {who: tuple(lrs_keys.learner_auth(secret, who).rsplit(":", 1)) for who in learners}

        def post(who: str, statements: list[dict]) -> None:
            requests.post(
                gate + "xAPI/statements", json=statements, auth=auths[who], headers=XAPI, timeout=60
            ).raise_for_status()

        for who in learners:  # the morning's work, before the séance
            if args.history:
                post(who, [history(who, url, -1 - k) for k in range(args.history)])
        seance = seance_ops.open_seance(settings, MODULE, step_by_step=True)
        for who in learners:
            post(who, [joined(seance, who, url)])
        projection = seance_ops.projection_url(settings, seance.code)

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
            response = page.goto(projection)
            if response is None or response.status != 200:
                status = response.status if response else "none"
                raise SystemExit(f"the projection page answered HTTP {status}: {projection}")
            page.wait_for_function("document.getElementById('sondage') !== null", timeout=60_000)
            page.evaluate(WATCH_DATA if source == "donnees" else WATCH_DOM)

            def log() -> list[list]:
                return page.evaluate("window.__banc")

            def first(
                question: str,
                since: float,
                timeout: float,
                *,
                count: int | None = None,
                revealed: bool = False,
            ) -> float | None:
                """When (page clock, s) the projection first showed `question` after `since`
                (with `count` answers, revealed), or None after `timeout` seconds."""
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    for t, q, n, rv in log():
                        if (
                            t / 1000 >= since - 0.5
                            and q == question
                            and (count is None or n == count)
                            and (rv or not revealed)
                        ):
                            return t / 1000
                    time.sleep(0.05)
                return None

            stats = (
                "async () => (await fetch('../../statistiques', "
                "{credentials: 'same-origin', headers: {'X-XSRFToken': XSRF}})).json()"
            )
            stats_before = page.evaluate(stats)
            for r in range(1, args.rounds + 1):
                question = f"Question {r} : quel jour la permanence est-elle ouverte ?"
                spec = {"type": "choix-unique", "question": question, "options": OPTIONS}
                spec["correct"] = [1]
                t0 = time.time()
                poll = seance_ops.launch_poll(settings, seance.code, spec)
                shown = first(question, t0, 30)
                if shown is None:
                    raise SystemExit(f"round {r}: the projection never showed the question")
                launch_shown.append(shown - t0)
                if source == "dom" and first(question, t0, 5, count=0) is None:
                    # the page shows the question but no count that can be read: use its data instead
                    print("the projection's DOM gives no answer count: reading donnees instead")
                    source = "donnees"
                    page.evaluate(WATCH_DATA)
                    if first(question, t0, 30, count=0) is None:
                        raise SystemExit(f"round {r}: no answer count in donnees either")

                start: dict[str, float] = {}
                barrier = threading.Barrier(len(learners))
                picks = {who: str(rng.choice([0, 1, 1, 2, 3])) for who in learners}

                def send(
                    who: str,
                    poll: Poll = poll,
                    barrier: threading.Barrier = barrier,
                    start: dict = start,
                    picks: dict = picks,
                ) -> None:
                    s = answer(seance, poll, who, url, picks[who])
                    barrier.wait()
                    start[who] = time.time()
                    post(who, [s])
                    posted.append(time.time() - start[who])

                threads = [threading.Thread(target=send, args=(who,)) for who in learners]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                sends = sorted(start.values())
                deadline = time.monotonic() + 60
                entries: list[tuple[float, int]] = []
                while time.monotonic() < deadline:
                    entries = [
                        (t / 1000, n)
                        for t, q, n, _rv in log()
                        if q == question and isinstance(n, int)
                    ]
                    if entries and max(n for _t, n in entries) >= len(sends):
                        break
                    time.sleep(0.05)
                this_round = []
                for rank, sent in enumerate(sends, start=1):
                    seen = next((t for t, n in entries if n >= rank), None)
                    if seen is None:
                        missing += 1
                    else:
                        this_round.append(seen - sent)
                latencies += this_round
                slowest.append(max(this_round, default=float("nan")))
                # the trainer reveals the answer (what the room sees next)
                t1 = time.time()
                seance_ops.reveal_poll(settings, seance.code)
                shown = first(question, t1, 30, revealed=True)
                if shown is not None:
                    reveal_shown.append(shown - t1)
            stats_after = page.evaluate(stats)
            page.evaluate("window.__bancStop = true")
            shown_names = [who for who in learners if who in page.content()]
            browser.close()
        seance_ops.close_seance(settings, seance.code)
    shutil.rmtree(work, ignore_errors=True)  # kept when something failed: its hub.log says why

    total = args.learners * args.rounds
    refresh = DEFAULT_DASHBOARD_REFRESH
    where = (
        "the projection's DOM (« N réponses reçues »)"
        if source == "dom"
        else "the projection's data (donnees, sondage.reponses)"
    )
    print(
        f"{args.learners} learners answering at once, {args.rounds} questions, {total} answers; "
        f"count read from {where}"
    )
    if not latencies:
        raise SystemExit("no answer was ever shown on the projection")
    latencies.sort()
    med, high = statistics.median(latencies), p95(latencies)
    print(
        f"answer → projection: median {fmt(med)}, p95 {fmt(high)}, max {fmt(latencies[-1])} "
        f"over {len(latencies)} answers (target {TARGET:.0f} s: p95 / 5 s = {high / TARGET:.2f})"
    )
    print("  slowest answer of each question: " + ", ".join(fmt(s) for s in slowest))
    if missing:
        print(f"  {missing} answer(s) never shown within 60 s")
    if shown_names:
        print(f"  the projection showed learners' names: {', '.join(shown_names)}")
    print(
        f"  of which the POST through the gate to Ralph (all at once): median {fmt(statistics.median(posted))}"
    )
    reads = stats_after["lectures"] - stats_before["lectures"]
    computed = stats_after["calculs"] - stats_before["calculs"]
    cpu = stats_after["secondes_cpu"] - stats_before["secondes_cpu"]
    print(
        f"  the dashboard service meanwhile: {reads} reads of the LRS, {computed} views computed, "
        f"{1000 * cpu / max(1, computed):.0f} ms of CPU per view (room + séance)"
    )
    print(
        f"question launched → shown on the projection: median {fmt(statistics.median(launch_shown))}, "
        f"max {fmt(max(launch_shown))}"
    )
    if reveal_shown:
        print(
            f"answer revealed → shown on the projection: median {fmt(statistics.median(reveal_shown))}, "
            f"max {fmt(max(reveal_shown))}"
        )
    print(
        "stock: no tool shows a notebook's live answers (nbgrader knows nothing until submission, "
        "nbgrader #942; polling sites sit outside the notebook and the research data)"
    )
    print(
        f"  nearest stock figure, the one-machine dashboard (Voila, journals re-read every "
        f"INCUBO_DASHBOARD_REFRESH = {refresh:.0f} s), by design, not measured: "
        f"median ≈ {refresh / 2:.1f} s, p95 ≈ {0.95 * refresh:.1f} s  "
        f"(séance: median {fmt(med)}, p95 {fmt(high)})"
    )


if __name__ == "__main__":
    main()
