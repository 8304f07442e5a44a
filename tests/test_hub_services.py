"""The room's services on a real hub: Ralph behind the LRS gate, the trainers' dashboard,
« Mon parcours », solutions kept on the server. One hub for the module; learners act from
their own kernels (real Unix accounts), the trainer watches in Chromium."""

from __future__ import annotations

import html
import json
import os
import shutil
import signal
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from harness import axe_violations, incubo, wait_for
from hub_support import shared_tmp, start_hub, unique_name
from solution_leaks import decoded_blobs, solution_lines

from incubo.hub import lrs_keys

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
MODULE = "essai-01"
XAPI = {"X-Experience-API-Version": "1.0.3"}
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def make_course(course_dir: Path) -> None:
    """Source (with solutions) and release of one module; gradebook and config as nbgrader wants."""
    (course_dir / "source").mkdir(parents=True)
    for side in ("source", "release"):
        shutil.copytree(FIXTURE, course_dir / side / MODULE)
        (course_dir / side / MODULE / "02-exercices.ipynb").write_text(NOTEBOOK)
    (course_dir / "gradebook.db").write_bytes(b"")
    (course_dir / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "incubo"\n'
    )


@pytest.fixture(scope="module")
def room():
    course = shared_tmp("incubo-cours-") / "cours"
    make_course(course)
    trainer = unique_name("f")
    with start_hub(formateurs=[trainer], course_dir=course) as hub:
        try:
            wait_for(lambda: requests.get(hub.url + "/services/lrs/__heartbeat__", timeout=5).status_code == 200,
                     timeout=120, what="Ralph behind the gate")  # fmt: skip
        except TimeoutError:
            print(hub.log()[-6000:])
            raise
        hub.trainer = trainer
        # the trainer releases the module the hub's way: learners get it in their home at spawn
        released = incubo("grade", "release", MODULE, "--course-dir", course, env=hub.env)
        assert released.returncode == 0, released.stderr
        hub.learner_labs = {}
        try:
            yield hub
        finally:
            shutil.rmtree(course.parent, ignore_errors=True)


def learners(room, *keys: str) -> list:
    """Learners (created once per key, those missing at the same time), with the released module
    fetched into their home at spawn."""
    missing = [key for key in keys if key not in room.learner_labs]
    for key, lab in zip(missing, room.labs(*[unique_name("a") for _ in missing]), strict=True):
        lab.nb = lab.kernel(notebook=f"incubo/{MODULE}/02-exercices.ipynb")
        out = lab.run(
            "from incubo.widgets import demarrer\ndemarrer('02-exercices')", kernel=lab.nb
        )
        assert out["error"] is None, out
        room.learner_labs[key] = lab
    return [room.learner_labs[key] for key in keys]


def learner(room, key: str):
    return learners(room, key)[0]


def run(lab, code: str) -> str:
    out = lab.run(code, kernel=lab.nb)
    assert out["error"] is None, out
    return out["stdout"]


def reader(room) -> tuple[str, str]:
    user, password = lrs_keys.reader_auth(lrs_keys.gate_secret(room.hub_dir), "formateurs").split(
        ":", 1
    )
    return user, password


def stored(room) -> list[dict]:
    """Every statement in Ralph, read as the trainers' read-only account."""
    found, url = [], room.url + "/services/lrs/xAPI/statements?limit=1000"
    while url:
        body = requests.get(url, auth=reader(room), headers=XAPI, timeout=30).json()
        found += body["statements"]
        url = room.url + body["more"] if body.get("more") else None
    return found


KERNEL_LRS = """
import base64, json, os, urllib.error, urllib.request
from incubo import events, xapi
def lrs(method, body=None, query=""):
    req = urllib.request.Request(events.lrs_url() + query, method=method, headers={
        "Authorization": "Basic " + base64.b64encode(os.environ["INCUBO_LRS_AUTH"].encode()).decode(),
        "X-Experience-API-Version": "1.0.3", "Content-Type": "application/json"},
        data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
"""


def test_each_kernel_speaks_to_the_lrs_only_as_its_own_learner(room):
    a, b = learners(room, "A", "B")
    run(a, KERNEL_LRS)
    run(b, KERNEL_LRS)
    mine = json.loads(run(a, (
        "s = xapi.statement('asked', parcours='essai', module='essai-01', kind='exercice', ident='ex-addition-1',"
        " extensions={'hint-number': 1})\n"
        "events.record(s)\nprint(json.dumps([s['id'], events.wait_delivered(30)]))"
    )))  # fmt: skip
    assert mine[1] is True, "A's statement still in the spool"
    run(b, "s = xapi.statement('asked', parcours='essai', module='essai-01', kind='exercice', ident='ex-moyenne')\n"
           "events.record(s)\nassert events.wait_delivered(30)")  # fmt: skip
    # stored under A's name (read with the trainers' account)
    [kept] = [s for s in stored(room) if s["id"] == mine[0]]
    assert kept["actor"]["account"] == {"homePage": room.url, "name": a.name}
    # A reads back only A's statements, even when asking for B's
    status, body = json.loads(run(a, "print(json.dumps(lrs('GET')))"))
    assert status == 200 and body["statements"]
    assert {s["actor"]["account"]["name"] for s in body["statements"]} == {a.name}
    status, _ = json.loads(run(a, (
        f"agent = json.dumps({{'objectType': 'Agent', 'account': {{'homePage': {room.url!r}, 'name': {b.name!r}}}}})\n"
        "import urllib.parse\nprint(json.dumps(lrs('GET', query='?agent=' + urllib.parse.quote(agent))))"
    )))  # fmt: skip
    assert status == 403
    # a statement in B's name is refused, and nothing of it is stored
    status, detail = json.loads(run(a, (
        f"forged = xapi.statement('passed', parcours='essai', module='essai-01', kind='exercice', ident='ex-secret', actor_name={b.name!r})\n"
        "print(json.dumps(lrs('POST', [forged])))"
    )))  # fmt: skip
    assert 400 <= status < 500 and "au nom de la personne connectée" in detail
    assert not [
        s
        for s in stored(room)
        if s["actor"]["account"]["name"] == b.name and s["verb"]["id"].endswith("/passed")
    ]
    # through the spool, a statement in B's name is set aside; A's own go on being delivered
    kept_aside = json.loads(run(a, (
        f"forged = xapi.statement('passed', parcours='essai', module='essai-01', kind='exercice', ident='ex-secret', actor_name={b.name!r})\n"
        "own = xapi.statement('asked', parcours='essai', module='essai-01', kind='exercice', ident='ex-moyenne')\n"
        "events.record(forged); events.record(own)\n"
        "assert events.wait_delivered(30)\n"
        "print(json.dumps([own['id'], [p.name for p in events.rejected_dir().glob('*.json')], forged['id']]))"
    )))  # fmt: skip
    own_id, aside, forged_id = kept_aside
    assert [n for n in aside if forged_id in n] and own_id in {s["id"] for s in stored(room)}
    # each kernel has credentials of its own, and A's do not open B's door
    auth_a = run(a, "print(os.environ['INCUBO_LRS_AUTH'])").strip()
    auth_b = run(b, "print(os.environ['INCUBO_LRS_AUTH'])").strip()
    assert auth_a.split(":")[0] == a.name and auth_b.split(":")[0] == b.name
    assert auth_a.split(":", 1)[1] != auth_b.split(":", 1)[1]
    borrowed = (b.name, auth_a.split(":", 1)[1])
    assert (
        requests.get(
            room.url + "/services/lrs/xAPI/statements", auth=borrowed, headers=XAPI, timeout=30
        ).status_code
        == 401
    )
    # the trainers' and the research side's accounts read everything and write nothing
    secret = lrs_keys.gate_secret(room.hub_dir)
    for who in ("formateurs", "recherche"):
        auth = tuple(lrs_keys.reader_auth(secret, who).split(":", 1))
        r = requests.get(
            room.url + "/services/lrs/xAPI/statements", auth=auth, headers=XAPI, timeout=30
        )
        assert {a.name, b.name} <= {s["actor"]["account"]["name"] for s in r.json()["statements"]}
        r = requests.post(
            room.url + "/services/lrs/xAPI/statements",
            json=[kept],
            auth=auth,
            headers=XAPI,
            timeout=30,
        )
        assert r.status_code == 403
    assert lrs_keys.reader_auth(secret, "formateurs") != lrs_keys.reader_auth(secret, "recherche")
    # the LRS's secrets are out of a learner's reach
    assert "Permission denied" in run(a, (
        f"try:\n    open({str(room.hub_dir / 'lrs' / lrs_keys.SECRET_FILE)!r}).read()\nexcept OSError as e:\n    print(e)"
    ))  # fmt: skip


def test_the_trainer_sees_the_room_live_and_learners_see_only_themselves(room, browser):
    a, b = learners(room, "A", "B")
    trainer_ctx = browser.new_context(
        locale="fr-FR", bypass_csp=True
    )  # CSP forbids eval: Playwright's waits need it
    page = trainer_ctx.new_page()
    room.login(page, room.trainer)
    page.wait_for_load_state()
    assert page.goto(room.url + "/services/tableau-de-bord/").status == 200
    page.wait_for_function("document.getElementById('etat').innerText.includes('Mis à jour')")
    # both learners press « Vérifier »; the page (never reloaded) shows each check within 5 s
    checks = (
        "(name) => { const row = [...document.querySelectorAll('#personnes tbody tr')]"
        ".find(r => r.cells[0].innerText.split(' ')[0] === name); return row ? Number(row.cells[1].innerText) : 0; }"
    )
    for lab, ns in ((a, "{'total': 41}"), (b, "{'total': 42}")):
        before = page.evaluate(checks, lab.name)
        run(lab, "from incubo.widgets import Exercice\nfrom incubo import events\n"
                 f"Exercice('ex-addition-1', namespace={ns}).check_button.click()\nassert events.wait_delivered(30)")  # fmt: skip
        t0 = time.monotonic()
        page.wait_for_function(f"({checks})({lab.name!r}) > {before}", timeout=5000)
        assert time.monotonic() - t0 < 5
    feed = page.inner_text("#verifications")
    assert f"{a.name}\ta vérifié ex-addition-1 : pas encore" in feed
    assert f"{b.name}\ta vérifié ex-addition-1 : réussi" in feed
    assert "1 / 3" in page.inner_text("#personnes")  # B's progress in the module
    assert not axe_violations(page)
    trainer_ctx.close()
    # learners get 403 on it
    for lab in (a, b):
        ctx = browser.new_context(locale="fr-FR")
        p = ctx.new_page()
        room.login(p, lab.name)
        p.wait_for_load_state()
        assert p.goto(room.url + "/services/tableau-de-bord/").status == 403
        assert p.goto(room.url + "/services/tableau-de-bord/donnees").status == 403
        # « Mon parcours » in their own server, from their own statements only
        p.goto(room.url + "/hub/home")
        p.click("#mon-parcours")  # reached from the hub's home page
        p.wait_for_load_state()
        assert p.url.endswith(f"/user/{lab.name}/incubo/mon-parcours"), p.url
        text = p.inner_text("main")
        own = [s for s in stored(room) if s["actor"]["account"]["name"] == lab.name]
        assert f"{len(own)} actions enregistrées" in text
        done = 1 if lab is b else 0
        assert f"Exercices réussis : {done} sur 3" in text
        assert not axe_violations(p)
        ctx.close()


def test_solutions_stay_on_the_server_until_the_policy_allows_them(room):
    a = learner(room, "C")
    home = room.home_base / room.unix_user(a.name)
    secret_lines = solution_lines(
        json.loads((FIXTURE / "incubo_exercices.json").read_text(encoding="utf-8"))
    )
    released = json.loads(
        (home / "incubo" / MODULE / "incubo_exercices.json").read_text(encoding="utf-8")
    )
    assert (
        released["exercices"]["ex-moyenne"]["solution_serveur"] is True
    )  # fetched at spawn, stripped
    for path in [p for p in home.rglob("*") if p.is_file()]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue  # a statement of the spool, delivered (so removed) since the listing
        for candidate in [text, *decoded_blobs(text)]:
            assert not [line for line in secret_lines if line in candidate], path
    ask = "from incubo.widgets.exercises import reveal_solution\nprint(repr(reveal_solution('ex-moyenne')))"
    shown, text = eval(run(a, ask))  # noqa: S307 - our own repr
    assert not shown and text.startswith("Essayez d'abord")  # French, and nothing leaked
    assert not [
        s
        for s in stored(room)
        if s["actor"]["account"]["name"] == a.name and s["verb"]["id"].endswith("/viewed")
    ]
    run(
        a,
        "from incubo.widgets import Exercice\nfrom incubo import events\n"
        "Exercice('ex-moyenne', namespace={'moyenne': lambda xs: 0}).check_button.click()\n"
        "assert events.wait_delivered(30)",
    )
    # now the « Solution » button shows it (asked from the server, which counted the attempt in the LRS)
    area = run(
        a,
        "panel = Exercice('ex-moyenne')\npanel.solution_button.click()\nprint(panel.solution_area.value)",
    )
    assert "Une solution possible" in area and "sum(nombres) / len(nombres)" in html.unescape(area)
    viewed = [
        s
        for s in stored(room)
        if s["actor"]["account"]["name"] == a.name and s["verb"]["id"].endswith("/viewed")
    ]
    assert [s["object"]["id"].rsplit("/", 1)[-1] for s in viewed] == ["ex-moyenne"]
    # a policy of « jamais » is never served
    shown, text = eval(run(a, ask.replace("ex-moyenne", "ex-secret")))  # noqa: S307
    assert not shown and "n'est pas affichée" in text


def test_lrs_down_during_the_session_learners_go_on_and_nothing_is_lost_or_doubled(room):
    a = learner(room, "A")
    ralph = int((room.hub_dir / "lrs" / "ralph.pid").read_text())
    os.kill(ralph, signal.SIGSTOP)  # Ralph stops answering (the hub would restart a killed one)
    try:
        timing = json.loads(run(a, (
            "import json, time\nfrom incubo.widgets import Exercice\nfrom incubo import events\nslowest = 0\n"
            "for i in range(3):\n"
            "    t0 = time.perf_counter()\n"
            "    Exercice('ex-addition-1', namespace={'total': 40 + i}).check_button.click()\n"
            "    Exercice('ex-addition-1', namespace={}).hint_button.click()\n"
            "    slowest = max(slowest, time.perf_counter() - t0)\n"
            "print(json.dumps([slowest, len(events.pending_files())]))"
        )))  # fmt: skip
        assert timing[0] < 1.0, f"an action took {timing[0]:.2f}s while Ralph was down"
        assert timing[1] >= 6  # spooled on disk, waiting
    finally:
        os.kill(ralph, signal.SIGCONT)
    wait_for(lambda: run(a, "print(len(events.pending_files()))").strip() == "0", timeout=90,
             what="the spool delivered after Ralph came back")  # fmt: skip
    journal = [  # A's own statements (the journal also keeps the one forged in B's name earlier)
        stmt["id"]
        for stmt in map(
            json.loads,
            filter(None, run(a, "print(open(events.events_file()).read())").splitlines()),
        )
        if stmt["actor"]["account"]["name"] == a.name
    ]
    assert len(journal) >= 12
    counts = Counter(s["id"] for s in stored(room))
    assert {i: counts[i] for i in journal} == {i: 1 for i in journal}, (
        "every statement exactly once"
    )


HISTORY = """
import os
from datetime import UTC, datetime, timedelta
from incubo import events, xapi
now = datetime.now(UTC)
def at(days, minutes=0):
    return (now - timedelta(days=days, minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
def answered(q, when):
    events.record(xapi.statement("answered", parcours="essai", module="essai-01", kind="quiz", ident=q,
                                 result={"success": True}, timestamp=when))
for i, q in enumerate(["q-cellule", "q-types", "q-total"]):
    answered(q, at(5, 30 - i))  # right five days ago: due today
for days in (15, 3):
    answered("q-prefecture", at(days))  # right twice: not due for days
assert events.wait_delivered(30)
os.remove(events.events_file())  # a lost home: the schedule must come from the LRS
"""
FRENCH_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
FRENCH_MONTHS = (
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"
)


def tab_to(page, condition: str, what: str, tries: int = 40) -> None:
    for _ in range(tries):
        page.keyboard.press("Tab")
        if page.evaluate(
            f"(() => {{ const e = document.activeElement; return !!e && ({condition}); }})()"
        ):
            return
    pytest.fail(f"{what} not reachable with Tab")


def test_my_daily_review_on_the_hub_by_keyboard_scheduled_by_fsrs_from_the_lrs(room, browser):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from fsrs import Card, Rating, Scheduler

    b = learner(room, "B")
    run(b, HISTORY)
    ctx = browser.new_context(locale="fr-FR")
    page = ctx.new_page()
    room.login(page, b.name)
    page.wait_for_load_state()
    page.goto(room.url + "/hub/home")
    page.click("#ma-revision")  # beside « Mon parcours » on the hub's home page
    page.wait_for_load_state()
    assert page.url.endswith(f"/user/{b.name}/incubo/revision"), page.url
    assert not axe_violations(page)
    button = "e.tagName === 'BUTTON' && e.innerText.trim() === 'Valider'"
    # 1. choix-unique « Comment exécuter une cellule ? »: the first option is right
    page.get_by_role("heading", name="Question 1 sur 3").wait_for()
    tab_to(page, "e.type === 'radio'", "a radio button")
    page.keyboard.press("Space")
    tab_to(page, button, "« Valider »")
    page.keyboard.press("Enter")
    page.get_by_text("Bonne réponse.", exact=True).wait_for()
    assert not axe_violations(page)
    tab_to(page, "e.innerText === 'Question suivante'", "« Question suivante »")
    page.keyboard.press("Enter")
    # 2. choix-multiple « Lesquels sont des nombres ? »: 42 and 3.5; B ticks one box only: wrong
    page.get_by_role("heading", name="Question 2 sur 3").wait_for()
    tab_to(page, "e.type === 'checkbox'", "a check box")
    page.keyboard.press("Space")
    tab_to(page, button, "« Valider »")
    page.keyboard.press("Enter")
    page.get_by_text("Ce n'est pas la bonne réponse.", exact=True).wait_for()
    assert not axe_violations(page)
    tab_to(page, "e.innerText === 'Question suivante'", "« Question suivante »")
    page.keyboard.press("Enter")
    # 3. nombre « Combien font 12 + 30 ? »: typed, Enter sends the form
    page.get_by_role("heading", name="Question 3 sur 3").wait_for()
    tab_to(page, "e.type === 'text'", "the answer field")
    page.keyboard.type("42")
    page.keyboard.press("Enter")
    page.get_by_text("Bonne réponse.", exact=True).wait_for()
    tab_to(page, "e.innerText === 'Voir mon bilan'", "« Voir mon bilan »")
    page.keyboard.press("Enter")
    summary = page.locator(".bilan")
    summary.wait_for()
    assert not axe_violations(page)

    # FSRS itself, fed with B's answers as the LRS holds them
    def mine():
        return [s for s in stored(room) if s["actor"]["account"]["name"] == b.name
                and s["verb"]["id"].endswith("/answered") and "/quiz/" in s["object"]["id"]]  # fmt: skip

    wait_for(lambda: len(mine()) == 8, timeout=60, what="B's three answers in the LRS")
    sched = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    cards: dict[str, Card] = {}
    for stmt in sorted(mine(), key=lambda s: s["timestamp"]):
        key = stmt["object"]["id"]
        when = datetime.fromisoformat(stmt["timestamp"].replace("Z", "+00:00"))
        rating = Rating.Good if stmt["result"]["success"] else Rating.Again
        cards[key] = sched.review_card(cards.get(key) or Card(card_id=1), rating, when)[0]
    paris = ZoneInfo("Europe/Paris")  # the room's days (INCUBO_FUSEAU_HORAIRE's default)
    today = datetime.now(paris).date()
    day = max(
        min(c.due.astimezone(paris).date() for c in cards.values()), today + timedelta(days=1)
    )
    expected = (
        f"2 sur 3 — prochaine révision {FRENCH_DAYS[day.weekday()]} {day.day}"
        f"{'er' if day.day == 1 else ''} {FRENCH_MONTHS.split()[day.month - 1]}"
    )
    assert expected in summary.inner_text(), (expected, summary.inner_text())
    # the wrong answer is FSRS's earliest card (Again: due again a day later), so that is the day
    wrong = [c for k, c in cards.items() if k.endswith("/quiz/q-types")]
    assert len(wrong) == 1 and wrong[0].due == min(c.due for c in cards.values())
    ctx.close()
