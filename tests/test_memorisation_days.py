"""The memorisation report cuts days like « Ma révision du jour »: in the room's time zone."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from incubo.reports import memorisation


class Answers:
    """What `reports.load` gives the report: a `sql()` over the statements (naive UTC `ts`)."""

    excluded = 0

    def __init__(self, rows: list[tuple[str, datetime, bool]]) -> None:
        self.frame = pd.DataFrame(
            [("agent-1", "p", "m1", item, ts, ok) for item, ts, ok in rows],
            columns=["learner", "parcours", "module", "item", "ts", "success"],
        )

    def sql(self, _query: str) -> pd.DataFrame:
        return self.frame.copy()


def test_an_answer_at_00_30_in_paris_is_a_new_days_review(monkeypatch):
    monkeypatch.setenv("INCUBO_FUSEAU_HORAIRE", "Europe/Paris")
    data = Answers(
        [
            ("q", datetime(2026, 12, 1, 9, 0), True),  # studied, 10 h Paris
            ("q", datetime(2026, 12, 1, 22, 0), False),  # 23 h Paris: a second try, same day
            ("q", datetime(2026, 12, 1, 23, 30), True),  # 00 h 30 Paris, 2 December: a review
        ]
    )
    frame, _excluded = memorisation.reviews(data)
    assert list(frame["ts"]) == [datetime(2026, 12, 1, 9, 0), datetime(2026, 12, 1, 23, 30)]
    assert list(frame["rank"]) == [1, 2]
    monkeypatch.setenv("INCUBO_FUSEAU_HORAIRE", "UTC")  # a room on UTC: all three the same day
    frame, _excluded = memorisation.reviews(data)
    assert list(frame["ts"]) == [datetime(2026, 12, 1, 9, 0)]
