"""« Ma révision du jour »'s schedule, rebuilt from the agent's own statements (incubo.review)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fsrs import Card, Rating

from incubo import review, xapi

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def bank(parcours: str, module: str, *ids: str) -> list[review.BankQuestion]:
    return [review.BankQuestion(parcours, module, {"id": i, "question": f"{i} ?"}) for i in ids]


def answered(module: str, qid: str, success: bool, when: datetime) -> dict:
    return xapi.statement(
        "answered",
        parcours="p",
        module=module,
        kind="quiz",
        ident=qid,
        result={"success": success},
        actor_name="agent",
        timestamp=when.isoformat().replace("+00:00", "Z"),
    )


def test_a_wrong_answer_brings_the_card_back_sooner_than_a_right_one():
    questions = bank("p", "m1", "q-juste", "q-faux")
    statements = [answered("m1", "q-juste", True, T0), answered("m1", "q-faux", False, T0)]
    cards = review.cards(statements)
    right, wrong = cards[("p", "m1", "q-juste")], cards[("p", "m1", "q-faux")]
    assert wrong.due < right.due
    # the same as FSRS itself gives for those answers
    sched = review.scheduler()
    assert right.due == sched.review_card(Card(card_id=1), Rating.Good, T0)[0].due
    assert wrong.due == sched.review_card(Card(card_id=1), Rating.Again, T0)[0].due
    # on the day the wrong one is due, it is asked again and the right one is not
    day = wrong.due + timedelta(hours=1)
    todo = review.plan(questions, statements, now=day).todo
    assert [q.id for q in todo] == ["q-faux"]
    # a second answer the same day is not a second review
    again = [*statements, answered("m1", "q-juste", False, T0 + timedelta(minutes=1))]
    assert review.cards(again)[("p", "m1", "q-juste")].due == right.due


def test_an_agent_with_no_history_gets_their_current_modules_questions():
    questions = bank("p", "m1", "a", "b") + bank("p", "m2", *"cdefgh")
    fresh = review.plan(questions, [], now=T0, limit=5)
    assert [q.id for q in fresh.todo] == ["a", "b"]  # first module, nothing due, new questions
    assert fresh.next_day is None and fresh.summary() == "Rien à réviser aujourd'hui"
    # an agent who opened a lesson of m2: m2 is their current module, at most 5 a day
    lesson = xapi.statement(
        "experienced", parcours="p", module="m2", kind="lecon", ident="l1", actor_name="agent"
    )
    working = review.plan(questions, [lesson], limit=5)
    assert [q.id for q in working.todo] == list("cdefg")


def test_due_questions_come_first_then_the_summary_names_the_fsrs_day():
    questions = bank("p", "m1", "a", "b", "c") + bank("p", "m2", "d", "e")
    past = T0 - timedelta(days=10)
    lesson = xapi.statement(
        "experienced", parcours="p", module="m2", kind="lecon", ident="l1", actor_name="agent",
        timestamp=past.isoformat().replace("+00:00", "Z"),
    )  # fmt: skip
    history = [answered("m1", q, True, past) for q in "abc"] + [lesson]
    day = review.plan(questions, history, now=T0, limit=4)
    assert [q.id for q in day.todo] == ["a", "b", "c", "d"]  # three due, then one new of m2
    answers = [answered("m1", "a", True, T0), answered("m1", "b", False, T0)]
    later = review.plan(questions, history + answers, now=T0 + timedelta(minutes=5), limit=4)
    assert [q.id for q in later.todo] == ["c", "d"]
    assert [(q.id, ok) for q, ok in later.done] == [("a", True), ("b", False)]
    # « b » wrong: due tomorrow (FSRS), and that is the next review day
    expected = review.cards(history + answers)[("p", "m1", "b")].due.astimezone().date()
    assert later.next_day == expected
    assert later.summary() == f"1 sur 2 — prochaine révision {review.french_day(expected)}"
    assert review.french_day(datetime(2026, 12, 10).date()) == "jeudi 10 décembre"


def test_an_exercise_failed_comes_back_as_its_quiz_question():
    linked = review.BankQuestion(
        "p", "m1", {"id": "q-somme", "question": "?", "exercice": "ex-somme"}
    )
    other = bank("p", "m1", "q-autre")
    failed = xapi.statement(
        "failed", parcours="p", module="m1", kind="exercice", ident="ex-somme", actor_name="agent",
        timestamp=T0.isoformat().replace("+00:00", "Z"),
    )  # fmt: skip
    history = review.reviews([failed], [linked, *other])
    assert history == {("p", "m1", "q-somme"): [(T0, False)]}
    tomorrow = review.plan([linked, *other], [failed], now=T0 + timedelta(days=1, hours=1))
    assert [q.id for q in tomorrow.todo][0] == "q-somme"  # due first, before the new question


def test_days_are_the_rooms_an_answer_at_00_30_in_paris_is_that_paris_day(monkeypatch):
    monkeypatch.setenv("INCUBO_FUSEAU_HORAIRE", "Europe/Paris")
    questions = bank("p", "m1", "a", "b")
    evening = datetime(2026, 12, 1, 22, 50, tzinfo=UTC)  # 23 h 50 in Paris, 1 December
    after_midnight = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 00 h 30 in Paris, 2 December
    statements = [answered("m1", "a", False, evening), answered("m1", "a", True, after_midnight)]
    # the same UTC day, two Paris days: two reviews, the second one counts
    assert [ok for _t, ok in review.reviews(statements)[("p", "m1", "a")]] == [False, True]
    plan = review.plan(questions, statements, now=after_midnight + timedelta(minutes=15), limit=5)
    assert plan.today == datetime(2026, 12, 2).date()
    assert [(q.id, ok) for q, ok in plan.done] == [("a", True)]  # « done today » is Paris's today
    assert plan.summary().startswith("1 sur 1 — prochaine révision ")
    # « due today »: a card due at 00 h 30 Paris time is not due at 23 h the evening before,
    # though both moments are the same UTC day
    wrong = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    due = review.cards([answered("m1", "b", False, wrong)])[("p", "m1", "b")].due
    evening_before = due - timedelta(minutes=90)
    assert evening_before.date() == due.date()  # UTC would call it due
    before = review.plan(questions, [answered("m1", "b", False, wrong)], now=evening_before)
    assert "b" not in [q.id for q in before.todo] and before.due_count == 0
    assert before.next_day == review.local_day(due)
    after = review.plan(questions, [answered("m1", "b", False, wrong)], now=due)
    assert [q.id for q in after.todo][0] == "b"


def test_on_the_real_courses_a_failed_exercise_brings_its_quiz_question_back():
    import re
    from pathlib import Path

    import yaml

    from incubo import quiz_bank

    courses = Path(__file__).resolve().parents[1] / "courses"
    questions = [
        review.BankQuestion(parcours, module, q)
        for parcours, module, bank in quiz_bank.course_banks(courses)
        for q in bank
    ]
    linked = [q for q in questions if q.spec.get("exercice")]
    assert len(linked) >= 10
    # every link names an exercise of the question's own module
    for q in linked:
        layout = yaml.safe_load((courses / q.parcours / "parcours.yml").read_text(encoding="utf-8"))
        (module,) = [m for m in layout["modules"] if m["id"] == q.module]
        text = "".join(
            (courses / q.parcours / f"{nb}.md").read_text(encoding="utf-8")
            for nb in module["notebooks"]
        )
        assert re.search(rf"^exercice: {re.escape(q.spec['exercice'])}$", text, re.M), q.key
    # an agent answered all of pap-04's questions right twice (days 0 and 2), then failed
    # « combien de dossiers hors délai ? » on day 3
    module = [q for q in questions if q.module == "pap-04-conditions"]
    history = [
        xapi.statement(
            "answered", parcours=q.parcours, module=q.module, kind="quiz", ident=q.id,
            result={"success": True}, actor_name="agent",
            timestamp=(T0 + timedelta(days=day)).isoformat().replace("+00:00", "Z"),
        )
        for day in (0, 2)
        for q in module
    ]  # fmt: skip
    failed = xapi.statement(
        "failed", parcours="python-pas-a-pas", module="pap-04-conditions", kind="exercice",
        ident="ex-pap-hors-delai", actor_name="agent",
        timestamp=(T0 + timedelta(days=3)).isoformat().replace("+00:00", "Z"),
    )  # fmt: skip
    day5 = T0 + timedelta(days=5)
    assert review.plan(questions, history, now=day5).todo == []  # without it: nothing due yet
    plan = review.plan(questions, [*history, failed], now=day5)
    assert [q.id for q in plan.todo] == ["q-pap04-compter"]
