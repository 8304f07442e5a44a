"""Due dates and the late policy: one file per module that every learner can read."""

from datetime import UTC, datetime, timedelta

import pytest

from incubo import deadlines
from incubo.errors import IncuboError


def test_a_due_date_typed_in_room_time_is_kept_and_read_back(tmp_path, monkeypatch):
    monkeypatch.setenv("INCUBO_FUSEAU_HORAIRE", "Europe/Paris")
    due = deadlines.parse_due("2026-12-12 17:00")
    assert due == datetime(2026, 12, 12, 16, 0, tzinfo=UTC)
    deadlines.write(tmp_path, "m1", deadlines.Deadline(due, deadlines.parse_policy("refuser")))
    back = deadlines.read(tmp_path, "m1")
    assert back == deadlines.Deadline(due, deadlines.REFUSE)
    assert back.french(now=due) == "à rendre avant samedi 12 décembre, 17 h 00"
    assert back.refuses(due + timedelta(seconds=1)) and not back.refuses(due)
    assert (tmp_path / ".echeances" / "m1.json").stat().st_mode & 0o777 == 0o644
    deadlines.write(tmp_path, "m1", None)
    assert deadlines.read(tmp_path, "m1") is None


def test_a_whole_day_means_its_end_and_bad_input_is_one_french_sentence(tmp_path):
    assert deadlines.parse_due("2026-12-12").astimezone(deadlines.french_time.zone()).hour == 23
    with pytest.raises(IncuboError, match="illisible"):
        deadlines.parse_due("vendredi")
    with pytest.raises(IncuboError, match="accepter"):
        deadlines.parse_policy("peut-être")
    (tmp_path / ".echeances").mkdir()
    (tmp_path / ".echeances" / "m2.json").write_text("pas du json")
    assert deadlines.read(tmp_path, "m2") is None
