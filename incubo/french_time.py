"""Dates and times as people read them: the room's local time, in French words.

« jeudi 4 décembre, 15 h 27 », never `2026-12-04 14:27:15.652982 UTC`. Every place that shows a
moment to a learner, a trainer or a researcher goes through here.

The room's time zone is `INCUBO_FUSEAU_HORAIRE` (« America/Cayenne » for a room in Guyane), by
default Europe/Paris: servers often run in UTC, the people in the room do not.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo

FRENCH_DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
FRENCH_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]

DEFAULT_ZONE = "Europe/Paris"


def zone() -> tzinfo:
    """The room's time zone (INCUBO_FUSEAU_HORAIRE), else Europe/Paris; UTC without a zone database."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from incubo.config import settings

    for name in (settings().time_zone.strip(), DEFAULT_ZONE):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return UTC


def zone_label() -> str:
    """« heure de Paris », or the zone's own name (« heure America/Cayenne », « heure UTC »)."""
    name = str(zone())
    return "heure de Paris" if name == DEFAULT_ZONE else f"heure {name}"


def local(moment: datetime | str) -> datetime:
    """`moment` (aware, naive meaning UTC, or ISO 8601 text) in the room's time zone."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone())


def french_date(day: date, today: date | None = None) -> str:
    """« jeudi 4 décembre » (« lundi 1er juin »), with the year when it is not `today`'s."""
    text = f"{FRENCH_DAYS[day.weekday()]} {day.day}{'er' if day.day == 1 else ''} {FRENCH_MONTHS[day.month - 1]}"
    if today is not None and day.year != today.year:
        text += f" {day.year}"
    return text


def french_clock(moment: datetime | str, *, seconds: bool = False) -> str:
    """« 15 h 27 » (« 15 h 27 min 05 s » with seconds), in the room's time."""
    t = local(moment)
    text = f"{t.hour} h {t.minute:02d}"
    return f"{text} min {t.second:02d} s" if seconds else text


def french_moment(moment: datetime | str, now: datetime | None = None) -> str:
    """« jeudi 4 décembre, 15 h 27 » in the room's time (the year when it is not this year)."""
    t = local(moment)
    today = local(now or datetime.now(UTC)).date()
    return f"{french_date(t.date(), today)}, {french_clock(t)}"
