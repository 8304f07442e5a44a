"""French typography in what the command line prints: « 5,0 s », « Correction : 40 % »."""

from __future__ import annotations

import io
import re

from incubo import console


def test_durations_have_a_decimal_comma():
    assert console.seconds(5.0) == "5,0\u00a0s"
    assert console.seconds(12.34) == "12,3\u00a0s"


def test_progress_bars_put_a_space_before_the_colon(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(console.sys, "stderr", out)
    bar = console.progress_bar(4, desc="Correction", unit="copie")
    bar.update(2)
    bar.close()
    text = out.getvalue()
    assert "Correction : " in text and "Correction:" not in text
    assert re.search(r"\d+ %", text) and not re.search(r"\d+%", text)
    assert "copie/s" not in text  # tqdm's English rate with a decimal point is not shown
