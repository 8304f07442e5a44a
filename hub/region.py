"""What the hub adds on Kubernetes (Zero to JupyterHub) to the room's configuration.

On a VM each learner is a Unix account and the exchange's privacy comes from
file permissions. On Kubernetes every learner's pod runs as the same user
(`jovyan`, uid 1000): privacy comes from *what is mounted*. The exchange is
one ReadWriteMany volume; a learner's pod mounts (deploy/z2jh/values.yaml,
`singleuser.storage.extraVolumeMounts`):

- `exchange/<course>/outbound` read-only (released modules, the same for all);
- `exchange/<course>/inbound/<learner>` as its `inbound` (its submissions only);
- `exchange/<course>/feedback/<learner>` read-only as its `feedback`.

No pod mounts another learner's folder, so nothing of it can be read or
written, whatever the code run there. The per-learner folders must exist
before the pod starts (the kubelet would create a missing sub-path as root,
not writable by the learner): `prepare_exchange` creates them from the hub
pod, which mounts the whole exchange and runs as the same uid as learners.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


def learner_dirs(exchange_root: Path, course_id: str, name: str) -> list[Path]:
    """The folders a learner's pod mounts by sub-path (inbound and feedback)."""
    base = Path(exchange_root) / course_id
    return [base / "inbound" / name, base / "feedback" / name]


def prepare_exchange(exchange_root: Path, course_id: str, name: str) -> None:
    """Create the learner's exchange folders (mode 0700) and the shared ones, idempotently."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"unsafe user name {name!r}")
    base = Path(exchange_root) / course_id
    (base / "outbound").mkdir(parents=True, exist_ok=True)
    for path in learner_dirs(exchange_root, course_id, name):
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
        os.chmod(path.parent, 0o711)  # learners never list each other (the hub and graders do)
    log.info("exchange folders ready for %s", name)


def configure_region(c, settings) -> None:
    """Chain a pre-spawn hook that prepares the learner's exchange folders (keeps any earlier hook)."""
    previous = c.Spawner.pre_spawn_hook if "pre_spawn_hook" in c.Spawner else None
    exchange_root = Path(settings.hub_dir) / "exchange"

    async def hook(spawner) -> None:
        prepare_exchange(exchange_root, settings.course_id, spawner.user.name)
        if previous is not None:
            result = previous(spawner)
            if hasattr(result, "__await__"):
                await result

    c.Spawner.pre_spawn_hook = hook
