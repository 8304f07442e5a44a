"""Secrets kept in a file of their own: created once, private (0600), never overwritten.

The one way incubo makes a secret file: the hub's proxy and service tokens
(`incubo.hub.config.private_file`), the room's services' tokens, the LRS gate's
secret, the ProConnect auth_state key and the RGPD erasure register's key.
(JupyterHub makes its cookie secret itself; `prepare_hub_dir` keeps it 0600.)
The rule: read the file if it is there, else write a new value and a newline to
a private temporary file beside it and link that into place, so two processes
starting together agree on one value and a reader never sees half a secret.
Readers strip the surrounding whitespace, so a file written without the newline
(by an older incubo) reads the same.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path


def private_secret(
    path: Path,
    make: Callable[[], str] = lambda: secrets.token_hex(32),
    *,
    on_create: Callable[[int], None] | None = None,
) -> str:
    """The secret in `path` (surrounding whitespace stripped), created with `make()` the first time.

    `on_create(fd)` runs on the new file before the secret is written (to give it an owner).
    """
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            if on_create is not None:
                on_create(fh.fileno())
            fh.write(make() + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # never replaces a secret another process wrote first
    finally:
        tmp.unlink()
    return path.read_text(encoding="utf-8").strip()
