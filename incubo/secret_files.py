"""Secrets kept in a file of their own: created once, private (0600), never overwritten.

The hub's cookie and service tokens, the ProConnect auth_state key and the LRS
gate's secret all follow one rule: read the file if it is there, else write a
new value to a private temporary file and link it into place, so two processes
starting together agree on one value and a reader never sees half a secret.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def private_secret(path: Path, make: Callable[[], str] = lambda: secrets.token_hex(32)) -> str:
    """The secret in `path` (surrounding whitespace stripped), created with `make()` the first time."""
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(make() + "\n")
    try:
        os.link(tmp, path)  # never replaces a secret another process wrote first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="utf-8").strip()
