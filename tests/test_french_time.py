"""Times shown to people: the room's local time, in French words (incubo.french_time)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from incubo.french_time import french_clock, french_date, french_moment, local, zone_label


def test_a_utc_instant_is_shown_in_paris_time_in_french_words(monkeypatch):
    monkeypatch.delenv("INCUBO_FUSEAU_HORAIRE", raising=False)
    now = datetime(2026, 12, 4, 16, 0, tzinfo=UTC)
    # the hand-in of nbgrader's feedback folder name, « 2026-12-04 14:27:15.652982 UTC »
    assert french_moment("2026-12-04T14:27:15.652982+00:00", now) == "vendredi 4 décembre, 15 h 27"
    assert french_moment("2026-06-01T07:05:00Z", now) == "lundi 1er juin, 9 h 05"  # summer: +2 h
    assert french_moment(datetime(2025, 6, 30, 23, 30), now) == "mardi 1er juillet 2025, 1 h 30"
    assert french_clock("2026-12-04T14:27:05Z", seconds=True) == "15 h 27 min 05 s"
    assert french_date(date(2026, 12, 10)) == "jeudi 10 décembre"
    assert zone_label() == "heure de Paris"


def test_a_room_overseas_sets_its_zone(monkeypatch):
    monkeypatch.setenv("INCUBO_FUSEAU_HORAIRE", "America/Cayenne")
    assert french_clock("2026-12-04T14:27:00Z") == "11 h 27"
    assert zone_label() == "heure America/Cayenne"
    monkeypatch.setenv("INCUBO_FUSEAU_HORAIRE", "Pas/Une-Zone")  # a typo: Paris, not a crash
    assert local("2026-12-04T14:27:00Z").hour == 15
