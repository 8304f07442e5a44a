"""Visible checks that do not give the answer away: compare a value to its fingerprint.

A visible test cell is read by the learner. ``assert total == 42`` tells them
the answer; ``assert conforme(total, "3b1f…")`` checks the same thing without
showing it. The fingerprint is a short SHA-256 of a canonical text of the
value, so ``42``, ``42.0`` and ``numpy.int64(42)`` agree, and a float can be
compared at a given number of decimals (``decimales=1``).

Authors compute a fingerprint once, in a notebook or a shell::

    from incubo.widgets import empreinte
    empreinte(37 + 45 + 52)            # → 'a1b2…'
    empreinte(121 / 134 * 100, 1)      # rounded to one decimal first

Exact values stay in the hidden tests; the fingerprint is the check's data.
"""

from __future__ import annotations

import hashlib
import logging
import math
from typing import Any

log = logging.getLogger(__name__)

_SALT = "incubo-empreinte-v1:"
_LENGTH = 16


def _number(value: Any) -> float | int | None:
    """A plain Python number for ints, floats and numpy scalars (not bools), else None."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)  # numpy.float64 is a float whose repr is « np.float64(…) »
    kind = getattr(getattr(value, "dtype", None), "kind", None)
    if kind in ("i", "u") and getattr(value, "ndim", 1) == 0:
        return int(value)
    if kind == "f" and getattr(value, "ndim", 1) == 0:
        return float(value)
    return None


def canonical(value: Any, decimales: int | None = None) -> str:
    """The text a fingerprint is taken of: equal for values a learner would call equal."""
    number = _number(value)
    if number is not None:
        if isinstance(number, float):
            if math.isnan(number) or math.isinf(number):
                return f"n:{number}"
            number = round(number, decimales if decimales is not None else 9)
            if number.is_integer():
                return f"n:{int(number)}"
            return f"n:{number!r}"
        return (
            f"n:{round(number, decimales) if decimales is not None and decimales < 0 else number}"
        )
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return f"b:{bool(value)}"
    if isinstance(value, str):
        return f"s:{value}"
    if value is None:
        return "none"
    if type(value).__name__ in ("datetime64", "Timestamp", "date", "datetime"):
        return f"s:{str(value)[:10]}"
    if hasattr(value, "tolist") and not isinstance(value, list | tuple):
        value = value.tolist()
    if isinstance(value, list | tuple):
        return "l:[" + "|".join(canonical(item, decimales) for item in value) + "]"
    if isinstance(value, set | frozenset):
        return "e:{" + "|".join(sorted(canonical(item, decimales) for item in value)) + "}"
    return f"r:{value!r}"


def empreinte(valeur: Any, decimales: int | None = None) -> str:
    """The fingerprint a visible check compares to (what authors paste into the test cell)."""
    digest = hashlib.sha256((_SALT + canonical(valeur, decimales)).encode("utf-8")).hexdigest()
    return digest[:_LENGTH]


def conforme(valeur: Any, attendu: str, decimales: int | None = None) -> bool:
    """True when `valeur` has the fingerprint `attendu`; never raises into a test cell."""
    try:
        return empreinte(valeur, decimales) == attendu
    except Exception:  # an odd object the learner built: simply not the expected value
        log.debug("fingerprint failed", exc_info=True)
        return False
