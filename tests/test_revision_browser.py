"""« Ma révision du jour » on one machine: the real `incubo apps` in a real Chromium, by keyboard only.

The agent's journal holds three questions answered right five days ago: FSRS
says all three are due today. The agent answers them (right, wrong, right)
with Tab, arrows, Space and Enter; the summary's next review day is the one
`fsrs` itself gives for those answers.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from harness import BIN, axe_violations, free_port, http_ok, isolated_env, running, wait_for

from incubo import xapi

PARIS = ZoneInfo("Europe/Paris")

pytestmark = pytest.mark.browser

TIMEOUT = 60_000
PARCOURS, MODULE = "parcours-revision", "rv-01"
QUESTIONS = ["q-un", "q-deux", "q-trois"]
BANK = "".join(
    f"""- id: {q}
  type: choix-unique
  question: "Question {n} : quelle est la bonne réponse ?"
  options:
    - {{texte: "Mauvaise réponse {n}"}}
    - {{texte: "Bonne réponse {n}", correct: true}}
  explication: "La deuxième réponse est la bonne ({n})."
"""
    for n, q in enumerate(QUESTIONS, 1)
)
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


def stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    base = tmp_path_factory.mktemp("revision")
    env = isolated_env(base / "env")
    bank = base / "courses" / PARCOURS / "quiz" / f"{MODULE}.yml"
    bank.parent.mkdir(parents=True)
    bank.write_text(BANK, encoding="utf-8")
    env["INCUBO_COURSES_DIR"] = str(base / "courses")
    env["JUPYTERHUB_USER"] = "agent-revision"
    past = datetime.now(UTC) - timedelta(days=5)
    history = [
        xapi.statement("answered", parcours=PARCOURS, module=MODULE, kind="quiz", ident=q,
                       result={"success": True}, actor_name="agent-revision", timestamp=stamp(past))
        for q in QUESTIONS
    ]  # fmt: skip
    journal = base / "env" / "home" / "incubo-evenements.jsonl"
    journal.write_text("".join(json.dumps(s) + "\n" for s in history), encoding="utf-8")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [BIN / "incubo", "apps", "--port", port, "--pool", "0", "--course-dir", base / "cours"]
    with running(
        cmd, env=env, ready=lambda: http_ok(url + "/"), timeout=120, log=base / "voila.log"
    ):
        yield {"url": url, "journal": journal, "history": history, "log": base / "voila.log"}


def press_until(page, key: str, condition: str, what: str, tries: int = 40) -> None:
    for _ in range(tries):
        page.keyboard.press(key)
        if page.evaluate(condition):
            return
    pytest.fail(f"{what} not reachable with {key}")


def answer_by_keyboard(page, number: int, right: bool) -> None:
    page.get_by_role("heading", name=f"Question {number} sur 3").wait_for(timeout=TIMEOUT)
    radio = "document.activeElement && document.activeElement.type === 'radio' && !document.activeElement.disabled"
    press_until(page, "Tab", radio, "a radio button")
    page.keyboard.press("Space")  # first option: « Mauvaise réponse »
    if right:
        page.keyboard.press("ArrowDown")  # « Bonne réponse »
    chosen = f"Réponse choisie : {'Bonne' if right else 'Mauvaise'} réponse {number}."
    page.locator(".incubo-choix").filter(has_text=chosen).wait_for(
        timeout=TIMEOUT
    )  # the kernel has it
    button = "(name) => document.activeElement && document.activeElement.tagName === 'BUTTON' && document.activeElement.innerText.trim() === name"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(button, "Valider"):
            break
    else:
        pytest.fail("« Valider » not reachable with Tab")
    page.keyboard.press("Enter")
    verdict = re.compile(r"^Bonne réponse\." if right else r"^Ce n'est pas la bonne réponse\.")
    page.locator(".incubo-retour p").first.filter(has_text=verdict).wait_for(timeout=TIMEOUT)
    assert "Explication : La deuxième réponse est la bonne" in page.inner_text(".incubo-retour")
    following = "Voir mon bilan" if number == 3 else "Question suivante"
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(button, following):
            break
    else:
        pytest.fail(f"« {following} » not reachable with Tab")
    page.keyboard.press("Enter")


def test_three_due_questions_by_keyboard_then_the_fsrs_day(page, server):
    from fsrs import Card, Rating, Scheduler

    page.goto(f"{server['url']}/voila/render/revision-du-jour.ipynb", timeout=TIMEOUT)
    page.wait_for_selector(".incubo-app", timeout=TIMEOUT)
    assert page.locator("html").get_attribute("lang") == "fr"
    violations = axe_violations(page)
    assert not violations, [
        (v["id"], [n["html"][:120] for n in v["nodes"][:3]]) for v in violations
    ]
    for number, right in ((1, True), (2, False), (3, True)):
        try:
            answer_by_keyboard(page, number, right)
        except Exception:
            print(page.inner_text("body"), server["log"].read_text()[-3000:])
            raise
    summary = page.locator(".incubo-bilan")
    summary.wait_for(timeout=TIMEOUT)
    # the answers, as recorded in the agent's own journal
    ids = {s["id"] for s in server["history"]}
    wait_for(lambda: len(server["journal"].read_text().splitlines()) == 6, timeout=30,
             what="three answers recorded")  # fmt: skip
    new = [json.loads(line) for line in server["journal"].read_text().splitlines()]
    new = [s for s in new if s["id"] not in ids]
    assert [s["result"]["success"] for s in new] == [True, False, True]
    # FSRS itself, with the same answers: next day = the earliest due card (at least tomorrow)
    sched = Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)
    past = datetime.fromisoformat(server["history"][0]["timestamp"].replace("Z", "+00:00"))
    dues = []
    for stmt in new:
        card, _ = sched.review_card(Card(card_id=1), Rating.Good, past)
        when = datetime.fromisoformat(stmt["timestamp"].replace("Z", "+00:00"))
        card, _ = sched.review_card(
            card, Rating.Good if stmt["result"]["success"] else Rating.Again, when
        )
        dues.append(card.due.astimezone(PARIS).date())  # the room's days (INCUBO_FUSEAU_HORAIRE)
    day = max(min(dues), datetime.now(PARIS).date() + timedelta(days=1))
    expected = f"2 sur 3 — prochaine révision {DAYS[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {MONTHS.split()[day.month - 1]}"
    text = re.sub(r"[\u00a0\u202f]", " ", summary.inner_text())
    assert expected in text, (expected, text)
    assert not axe_violations(page)
    # the next visit the same day: nothing more to review, the same summary
    page.reload()
    page.locator(".incubo-bilan").filter(has_text=expected).wait_for(timeout=TIMEOUT)
