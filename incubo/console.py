"""User-facing output in one place: French messages on stderr, progress bars."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def info(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def success(message: str) -> None:
    print(f"✔ {message}", file=sys.stderr, flush=True)


def warning(message: str) -> None:
    print(f"Attention : {message}", file=sys.stderr, flush=True)


def error(message: str) -> None:
    print(f"Erreur : {message}", file=sys.stderr, flush=True)


#: tqdm's default bar with French typography (« Correction : 40 % », a space before the colon) and no English rate.
BAR_FORMAT = "{desc} : {percentage:3.0f} %|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}]"


def seconds(value: float) -> str:
    """A duration the French way: « 5,0 s »."""
    return f"{value:.1f}".replace(".", ",") + "\u00a0s"


def progress(items: Iterable[T], *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """A French progress bar on stderr (quiet when stderr is not a terminal and CI asks)."""
    from tqdm import tqdm

    yield from tqdm(
        items,
        total=total,
        desc=desc,
        unit="élément",
        file=sys.stderr,
        leave=True,
        bar_format=BAR_FORMAT,
    )


def progress_bar(total: int, desc: str = "", unit: str = "élément"):
    """A manual tqdm bar (call `.update(n)`), for work done by several workers."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit=unit, file=sys.stderr, leave=True, bar_format=BAR_FORMAT
    )
