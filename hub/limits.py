"""Per-learner limits enforced by the kernel: memory, number of processes, a fair CPU share.

One learner's `pd.concat([df] * 10**6)` or fork loop must not stop the room.
Each learner's server (and everything it starts: kernels, terminals) runs in
a control group of its own, made by the hub (root) before the server starts:

| limit | cgroup v1 (these machines) | cgroup v2 (Debian 12 under systemd) |
| --- | --- | --- |
| memory (`INCUBO_LIMITE_MEMOIRE`, default 2 Gio) | `memory.limit_in_bytes` | `memory.max` |
| processes (`INCUBO_LIMITE_PROCESSUS`, default 256) | `pids.max` | `pids.max` |
| CPU share (equal for every learner) | `cpu.shares` | `cpu.weight` |

The groups live under the hub's own control group (with systemd, the hub's
unit has `Delegate=yes`, as `jupyterhub-systemdspawner` relies on), in a
folder named after the hub folder, so two rooms on one machine never share
one. Each process also gets `RLIMIT_AS` a little under the memory limit: an
allocation past it fails with `MemoryError` in the learner's cell (explained
in French by `incubo.widgets.friendly_errors`) instead of waking the
out-of-memory killer; the group's limit catches the rest (several processes).

Nothing here is a Python check of usage: the kernel enforces every limit.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import resource
import time
from dataclasses import dataclass
from pathlib import Path

from incubo.errors import IncuboError

log = logging.getLogger(__name__)

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: On learners' JUPYTER_PATH: the Python kernel that explains a limit in French from its start.
KERNELS_DIR = Path(__file__).with_name("jupyter-data")
DEFAULT_MEMORY = 2 * 1024**3
DEFAULT_PROCESSES = 256
#: Each process's address space, as a share of the learner's memory: a cell filling memory gets
#: `MemoryError` (explained in French) a little before the group's limit would wake the OOM killer.
ADDRESS_SPACE_SHARE = 0.85
#: glibc reserves 64 MiB of address space per thread arena (a kernel: 800 MiB for 50 MiB used);
#: two arenas keep a kernel near 220 MiB, so the address-space cap measures real use.
MALLOC_ARENA_MAX = "2"
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class Limits:
    memory: int = DEFAULT_MEMORY  # bytes, for the learner's server and all it starts
    processes: int = DEFAULT_PROCESSES
    cpu_weight: int = (
        100  # the same for every learner: a fair share (v2 weight; v1 shares = x 10.24)
    )


def parse_size(raw: str, variable: str = "INCUBO_LIMITE_MEMOIRE") -> int:
    """`2G`, `512M`, `1.5g`, `2Gio` or a number of bytes; a French sentence otherwise."""
    text = raw.strip().lower().replace(",", ".").removesuffix("io").removesuffix("o").strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgt]?)", text)
    if not match or float(match.group(1)) <= 0:
        raise IncuboError(
            f"La variable {variable} doit être une taille comme « 2G » ou « 512M » (reçu « {raw} »).",
            code="config-invalide",
        )
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def limits_from_env(env=None) -> Limits:
    env = os.environ if env is None else env
    memory = env.get("INCUBO_LIMITE_MEMOIRE", "").strip()
    processes = env.get("INCUBO_LIMITE_PROCESSUS", "").strip()
    if processes and (not processes.isdigit() or int(processes) < 16):
        raise IncuboError(
            f"La variable INCUBO_LIMITE_PROCESSUS doit être un nombre entier d'au moins 16 (reçu « {processes} »).",
            code="config-invalide",
        )
    return Limits(
        memory=parse_size(memory) if memory else DEFAULT_MEMORY,
        processes=int(processes) if processes else DEFAULT_PROCESSES,
    )


def human_size(n: int) -> str:
    """`2 Gio`, `512 Mio`: how a learner reads a limit."""
    for unit, size in (("Gio", 1024**3), ("Mio", 1024**2), ("Kio", 1024)):
        if n >= size:
            value = n / size
            return (
                f"{value:.0f} {unit}"
                if value == int(value)
                else f"{value:.1f} {unit}".replace(".", ",")
            )
    return f"{n} o"


def _write(path: Path, value: str) -> None:
    path.write_text(value)


def _own_path(controller: str) -> str:
    """This process's cgroup path for a v1 controller (`memory`), or for the v2 hierarchy (`""`)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, names, path = line.split(":", 2)
        if (controller and controller in names.split(",")) or (not controller and names == ""):
            return path
    return "/"


class Cgroups:
    """The learners' control groups of one room (one hub folder) on this machine."""

    def __init__(self, hub_dir: Path | str, root: Path = CGROUP_ROOT) -> None:
        self.tag = "incubo-" + hashlib.sha256(str(hub_dir).encode()).hexdigest()[:10]
        self.root = root
        self.v2 = (root / "cgroup.controllers").exists()

    # --- where -------------------------------------------------------------------------------
    def _parents(self) -> dict[str, Path]:
        """Controller name → the room's folder in it (v2: one folder for all controllers)."""
        if self.v2:
            return {"": self.root / _own_path("").lstrip("/") / self.tag}
        return {
            c: self.root / c / _own_path(c).lstrip("/") / self.tag
            for c in ("memory", "pids", "cpu")
        }

    def folders(self, unix_user: str) -> dict[str, Path]:
        return {c: parent / unix_user for c, parent in self._parents().items()}

    def available(self) -> bool:
        """Whether this process may create the groups (root, controllers mounted and writable)."""
        try:
            for parent in self._parents().values():
                base = parent.parent
                if not base.is_dir() or not os.access(base, os.W_OK):
                    return False
                if self.v2 and not {"memory", "pids"} <= set(
                    (base / "cgroup.controllers").read_text().split()
                ):
                    return False
                if not self.v2 and not (base / "cgroup.procs").exists():
                    return False
            return True
        except OSError:
            return False

    # --- the learner's group -----------------------------------------------------------------
    def prepare(self, unix_user: str, limits: Limits) -> None:
        """Create (or update) the learner's group with its limits; root, before the server starts."""
        for controller, folder in self.folders(unix_user).items():
            if self.v2:
                parent = folder.parent
                parent.mkdir(exist_ok=True)
                with contextlib.suppress(
                    OSError
                ):  # controllers for the children of the room's folder
                    _write(parent / "cgroup.subtree_control", "+memory +pids +cpu")
                folder.mkdir(exist_ok=True)
                _write(folder / "memory.max", str(limits.memory))
                with contextlib.suppress(OSError):
                    _write(folder / "memory.swap.max", "0")
                _write(folder / "pids.max", str(limits.processes))
                with contextlib.suppress(OSError):
                    _write(folder / "cpu.weight", str(limits.cpu_weight))
                continue
            folder.mkdir(parents=True, exist_ok=True)
            if controller == "memory":
                _write(folder / "memory.limit_in_bytes", str(limits.memory))
                with contextlib.suppress(OSError):  # swap accounting is not always on
                    _write(folder / "memory.memsw.limit_in_bytes", str(limits.memory))
            elif controller == "pids":
                _write(folder / "pids.max", str(limits.processes))
            else:
                _write(folder / "cpu.shares", str(int(limits.cpu_weight * 10.24)))

    def join(self, unix_user: str, pid: int = 0) -> None:
        """Move `pid` (0: the calling process) into the learner's group. Called after fork, before exec."""
        for folder in self.folders(unix_user).values():
            _write(folder / "cgroup.procs", str(pid or os.getpid()))

    def pids(self, unix_user: str) -> list[int]:
        folder = next(iter(self.folders(unix_user).values()))
        try:
            return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def usage(self, unix_user: str) -> dict[str, int] | None:
        """Memory in use and its limit, processes and their limit, times a limit stopped something."""
        folders = self.folders(unix_user)
        try:
            if self.v2:
                f = folders[""]
                events = dict(
                    line.split() for line in (f / "memory.events").read_text().splitlines()
                )
                pid_events = dict(
                    line.split() for line in (f / "pids.events").read_text().splitlines()
                )
                limit = (f / "memory.max").read_text().strip()
                return {
                    "memoire": int((f / "memory.current").read_text()),
                    "memoire_limite": int(limit) if limit.isdigit() else 0,
                    "processus": int((f / "pids.current").read_text()),
                    "processus_limite": int((f / "pids.max").read_text().strip() or 0),
                    "arrets_memoire": int(events.get("oom_kill", 0)),
                    "refus_processus": int(pid_events.get("max", 0)),
                }
            m, p = folders["memory"], folders["pids"]
            oom = dict(line.split() for line in (m / "memory.oom_control").read_text().splitlines())
            pids_max = (p / "pids.max").read_text().strip()
            return {
                "memoire": int((m / "memory.usage_in_bytes").read_text()),
                "memoire_limite": int((m / "memory.limit_in_bytes").read_text()),
                "processus": int((p / "pids.current").read_text()),
                "processus_limite": int(pids_max) if pids_max.isdigit() else 0,
                "arrets_memoire": int(oom.get("oom_kill", 0)),
                "refus_processus": int((p / "pids.events").read_text().split()[-1]),
            }
        except (OSError, ValueError, KeyError):
            return None

    def remove(self, unix_user: str) -> None:
        """Remove the learner's (empty) group once their server is stopped."""
        for folder in self.folders(unix_user).values():
            with contextlib.suppress(OSError):
                folder.rmdir()

    def remove_room(self, timeout: float = 5) -> None:
        """Remove the room's folders and the learners' groups in them, once their processes are gone."""
        deadline = time.monotonic() + timeout
        for parent in self._parents().values():
            while parent.is_dir():
                for child in [c for c in parent.iterdir() if c.is_dir()]:
                    with contextlib.suppress(OSError):
                        child.rmdir()
                with contextlib.suppress(OSError):
                    parent.rmdir()
                if not parent.is_dir() or time.monotonic() > deadline:
                    break
                time.sleep(0.1)  # a killed process still being reaped keeps its group busy


def preexec(cgroups: Cgroups | None, unix_user: str, limits: Limits, then):
    """A `preexec_fn`: join the learner's group, cap each process's address space, then `then()`.

    Runs in the child between fork and exec, as root: the group's files are found before the fork,
    the child only writes its pid and sets its limit.
    """
    procs = [f / "cgroup.procs" for f in cgroups.folders(unix_user).values()] if cgroups else []
    address_space = int(limits.memory * ADDRESS_SPACE_SHARE)

    def run() -> None:
        pid = str(os.getpid())
        for path in procs:
            _write(path, pid)
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        then()

    return run
