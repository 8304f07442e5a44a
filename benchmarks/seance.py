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
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
import seance_support  # noqa: E402
from bench_hub import services_hub, trainer_page  # noqa: E402
from harness import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from seance_support import MODULE  # noqa: E402

from incubo import xapi  # noqa: E402
from incubo.config import DEFAULT_DASHBOARD_REFRESH, hub_settings  # noqa: E402
from incubo.hub import lrs_keys, seance_ops  # noqa: E402
from incubo.seance import Poll, Seance  # noqa: E402

XAPI = {"X-Experience-API-Version": "1.0.3"}
TARGET = 5.0  # the issue's « ≤ 5 s after a learner's action »
OPTIONS = ["Lundi", "Mardi", "Jeudi", "Vendredi"]

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


def parse_args() -> argparse.Namespace:
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
    return parser.parse_args()


@dataclass
class Measures:
    """What the rounds measured (seconds) and where the count was read."""

    source: str
    latencies: list[float] = field(default_factory=list)
    posted: list[float] = field(default_factory=list)
    launch_shown: list[float] = field(default_factory=list)
    reveal_shown: list[float] = field(default_factory=list)
    slowest: list[float] = field(default_factory=list)
    missing: int = 0
    shown_names: list[str] = field(default_factory=list)
    stats_before: dict = field(default_factory=dict)
    stats_after: dict = field(default_factory=dict)


@dataclass
class Room:
    """The running hub, its séance and the learners' LRS credentials."""

    url: str
    gate: str
    settings: object
    seance: Seance
    auths: dict[str, tuple[str, str]]

    def post(self, who: str, statements: list[dict]) -> None:
        requests.post(
            self.gate + "xAPI/statements",
            json=statements,
            auth=self.auths[who],
            headers=XAPI,
            timeout=60,
        ).raise_for_status()


class Projection:
    """The trainer's projection page, watched from inside (window.__banc, see WATCH_DOM)."""

    STATS = (
        "async () => (await fetch('../../statistiques', "
        "{credentials: 'same-origin', headers: {'X-XSRFToken': XSRF}})).json()"
    )

    def __init__(self, page, source: str) -> None:
        self.page = page
        self.source = source
        page.evaluate(WATCH_DATA if source == "donnees" else WATCH_DOM)

    def log(self) -> list[list]:
        return self.page.evaluate("window.__banc")

    def stats(self) -> dict:
        return self.page.evaluate(self.STATS)

    def first(
        self,
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
            for t, q, n, rv in self.log():
                if (
                    t / 1000 >= since - 0.5
                    and q == question
                    and (count is None or n == count)
                    and (rv or not revealed)
                ):
                    return t / 1000
            time.sleep(0.05)
        return None

    def counts_until(self, question: str, expected: int, timeout: float) -> list[tuple[float, int]]:
        """(time, answer count) shown for `question`, once `expected` answers show or at `timeout`."""
        deadline = time.monotonic() + timeout
        entries: list[tuple[float, int]] = []
        while time.monotonic() < deadline:
            entries = [
                (t / 1000, n) for t, q, n, _rv in self.log() if q == question and isinstance(n, int)
            ]
            if entries and max(n for _t, n in entries) >= expected:
                break
            time.sleep(0.05)
        return entries

    def read_data_instead(self, question: str, since: float, r: int) -> None:
        """The page shows the question but no count that can be read: use its data instead."""
        print("the projection's DOM gives no answer count: reading donnees instead")
        self.source = "donnees"
        self.page.evaluate(WATCH_DATA)
        if self.first(question, since, 30, count=0) is None:
            raise SystemExit(f"round {r}: no answer count in donnees either")


def open_room(url: str, gate: str, hub_dir: Path, course_dir: Path, args) -> Room:
    """The morning's statements in the LRS, a séance opened, every learner in it."""
    settings = hub_settings(
        env={"INCUBO_HUB_DIR": str(hub_dir), "INCUBO_COURSE_DIR": str(course_dir)},
        public_url=url,
    )
    secret = lrs_keys.gate_secret(hub_dir)
    learners = [f"agent{i:02d}" for i in range(args.learners)]
    auths = {who: tuple(lrs_keys.learner_auth(secret, who).rsplit(":", 1)) for who in learners}
    room = Room(url, gate, settings, None, auths)
    for who in learners:  # the morning's work, before the séance
        if args.history:
            room.post(who, [history(who, url, -1 - k) for k in range(args.history)])
    room.seance = seance_ops.open_seance(settings, MODULE, step_by_step=True)
    for who in learners:
        room.post(who, [joined(room.seance, who, url)])
    return room


def open_projection(browser, room: Room):
    """The trainer logs in and opens the séance's projection page."""
    projection = seance_ops.projection_url(room.settings, room.seance.code)
    page = trainer_page(browser, room.url)
    response = page.goto(projection)
    if response is None or response.status != 200:
        status = response.status if response else "none"
        raise SystemExit(f"the projection page answered HTTP {status}: {projection}")
    page.wait_for_function("document.getElementById('sondage') !== null", timeout=60_000)
    return page


def answer_all_at_once(room: Room, poll: Poll, picks: dict[str, str], measures: Measures):
    """Every learner POSTs their answer at the same moment; returns the send times, sorted."""
    start: dict[str, float] = {}
    barrier = threading.Barrier(len(picks))

    def send(who: str) -> None:
        s = answer(room.seance, poll, who, room.url, picks[who])
        barrier.wait()
        start[who] = time.time()
        room.post(who, [s])
        measures.posted.append(time.time() - start[who])

    threads = [threading.Thread(target=send, args=(who,)) for who in picks]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sorted(start.values())


def one_round(r: int, room: Room, view: Projection, rng: random.Random, m: Measures) -> None:
    """The trainer launches question r, the room answers, the trainer reveals the answer."""
    question = f"Question {r} : quel jour la permanence est-elle ouverte ?"
    spec = {"type": "choix-unique", "question": question, "options": OPTIONS, "correct": [1]}
    t0 = time.time()
    poll = seance_ops.launch_poll(room.settings, room.seance.code, spec)
    shown = view.first(question, t0, 30)
    if shown is None:
        raise SystemExit(f"round {r}: the projection never showed the question")
    m.launch_shown.append(shown - t0)
    if view.source == "dom" and view.first(question, t0, 5, count=0) is None:
        view.read_data_instead(question, t0, r)
    picks = {who: str(rng.choice([0, 1, 1, 2, 3])) for who in room.auths}
    sends = answer_all_at_once(room, poll, picks, m)
    entries = view.counts_until(question, len(sends), 60)
    this_round = []
    for rank, sent in enumerate(sends, start=1):
        seen = next((t for t, n in entries if n >= rank), None)
        if seen is None:
            m.missing += 1
        else:
            this_round.append(seen - sent)
    m.latencies += this_round
    m.slowest.append(max(this_round, default=float("nan")))
    # the trainer reveals the answer (what the room sees next)
    t1 = time.time()
    seance_ops.reveal_poll(room.settings, room.seance.code)
    shown = view.first(question, t1, 30, revealed=True)
    if shown is not None:
        m.reveal_shown.append(shown - t1)


def run_seance(room: Room, args, m: Measures) -> None:
    """The trainer's browser on the projection while the rounds run."""
    from playwright.sync_api import sync_playwright

    rng = random.Random(15)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = open_projection(browser, room)
        view = Projection(page, m.source)
        m.stats_before = view.stats()
        for r in range(1, args.rounds + 1):
            one_round(r, room, view, rng, m)
        m.stats_after = view.stats()
        m.source = view.source
        page.evaluate("window.__bancStop = true")
        m.shown_names = [who for who in room.auths if who in page.content()]
        browser.close()


def print_report(args, m: Measures) -> None:
    total = args.learners * args.rounds
    refresh = DEFAULT_DASHBOARD_REFRESH
    where = (
        "the projection's DOM (« N réponses reçues »)"
        if m.source == "dom"
        else "the projection's data (donnees, sondage.reponses)"
    )
    print(
        f"{args.learners} learners answering at once, {args.rounds} questions, {total} answers; "
        f"count read from {where}"
    )
    if not m.latencies:
        raise SystemExit("no answer was ever shown on the projection")
    m.latencies.sort()
    med, high = statistics.median(m.latencies), p95(m.latencies)
    print(
        f"answer → projection: median {fmt(med)}, p95 {fmt(high)}, max {fmt(m.latencies[-1])} "
        f"over {len(m.latencies)} answers (target {TARGET:.0f} s: p95 / 5 s = {high / TARGET:.2f})"
    )
    print("  slowest answer of each question: " + ", ".join(fmt(s) for s in m.slowest))
    if m.missing:
        print(f"  {m.missing} answer(s) never shown within 60 s")
    if m.shown_names:
        print(f"  the projection showed learners' names: {', '.join(m.shown_names)}")
    print(
        f"  of which the POST through the gate to Ralph (all at once): median {fmt(statistics.median(m.posted))}"
    )
    reads = m.stats_after["lectures"] - m.stats_before["lectures"]
    computed = m.stats_after["calculs"] - m.stats_before["calculs"]
    cpu = m.stats_after["secondes_cpu"] - m.stats_before["secondes_cpu"]
    print(
        f"  the dashboard service meanwhile: {reads} reads of the LRS, {computed} views computed, "
        f"{1000 * cpu / max(1, computed):.0f} ms of CPU per view (room + séance)"
    )
    print(
        f"question launched → shown on the projection: median {fmt(statistics.median(m.launch_shown))}, "
        f"max {fmt(max(m.launch_shown))}"
    )
    if m.reveal_shown:
        print(
            f"answer revealed → shown on the projection: median {fmt(statistics.median(m.reveal_shown))}, "
            f"max {fmt(max(m.reveal_shown))}"
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


def main() -> None:
    args = parse_args()
    work = Path(tempfile.mkdtemp(prefix="incubo-bench-seance-"))
    hub_dir, course_dir = work / "hub", work / "cours"
    for d in (hub_dir, course_dir):
        d.mkdir()
    make_course(course_dir, hub_dir)
    lrs_keys.gate_secret(hub_dir)  # before the hub starts: the gate and this process share it
    measures = Measures(source=args.source)
    with services_hub(work, hub_dir, course_dir) as hub:
        room = open_room(hub.url, hub.gate, hub_dir, course_dir, args)
        run_seance(room, args, measures)
        seance_ops.close_seance(room.settings, room.seance.code)
    shutil.rmtree(work, ignore_errors=True)  # kept when something failed: its hub.log says why
    print_report(args, measures)


if __name__ == "__main__":
    main()
