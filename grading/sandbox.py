"""A bubblewrap sandbox around each grading kernel.

Student code runs with no network (its own network namespace), a private
file system that holds only the Python installation (read-only) and its own
working copy, its own process namespace (killing the sandbox kills every
process it started), resource limits (address space, processes, file size)
and, when we run as root, an unprivileged user of its own. The kernel talks
to us over ZeroMQ IPC sockets in a runtime folder shared into the sandbox,
since TCP on the sandbox's loopback is not ours.
"""

from __future__ import annotations

import ast
import ctypes
import functools
import glob
import itertools
import logging
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, List

from incubo.config import env_var

from .limits import Limits

log = logging.getLogger(__name__)

BWRAP = "/usr/bin/bwrap"
#: /etc files a Python kernel needs; nothing else of /etc is visible.
ETC_FILES = [
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "passwd", "group", "nsswitch.conf",
    "hosts", "ssl", "ca-certificates", "fonts", "mime.types", "os-release", "alternatives", "locale.alias",
    "matplotlibrc", "python3", "python3.11",
]  # fmt: skip
#: Environment variables passed from the grader to kernels (nothing else, no secrets).
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "PYTHONPATH", env_var("activity_base"))


#: bubblewrap's first process in the sandbox, before the user change and the limits: it
#: starts the kernel's command and, when the grader dies (the grader's end of the
#: lifeline pipe closes, even before this watchdog started), kills every process of
#: the sandbox. `--die-with-parent` alone leaves a window: bubblewrap binds the
#: sandbox's pid 1 to its own outer process only after the whole file system is set
#: up, so a grader killed while a kernel starts left that sandbox running for good.
#: argv: lifeline fd, kernel uid (-1: same user as the grader), command...
WATCHDOG = """\
import os, select, signal, sys
fd, uid, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
lifeline = select.poll()
lifeline.register(fd, select.POLLIN)  # the grader never writes: readable means closed
if lifeline.poll(0):
    os._exit(1)
pid = os.fork()
if pid == 0:
    os.close(fd)
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
child = os.pidfd_open(pid)
lifeline.register(child, select.POLLIN)
while True:
    ready = {f for f, _ in lifeline.poll()}
    if child in ready:
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        os._exit(code if code >= 0 else 128 - code)
    if fd in ready:
        try:
            os.kill(pid, signal.SIGKILL)  # still ours, before its user change
        except PermissionError:
            pass
        if uid >= 0:
            os.setgid(uid)
            os.setuid(uid)
        os.kill(-1, signal.SIGKILL)  # everything of the sandbox's user, in its pid namespace
        os._exit(1)
"""

PR_SET_PDEATHSIG = 1


def _die_with(prctl, parent: int) -> None:  # pragma: no cover - runs in the forked child
    """preexec_fn: SIGKILL this child when the thread that forked it ends.

    That thread is the grader's event loop (the main thread of `incubo grade`), which
    lives until every kernel is killed. `prctl` is looked up before the fork: nothing
    is loaded in the child.
    """
    prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    if os.getppid() != parent:  # the grader died before the prctl: nobody would kill us
        os._exit(1)


class Lifeline:
    """A pipe whose write end only the grader holds: its sandboxes see it close when the grader dies."""

    def __init__(self) -> None:
        # both ends non-inheritable: only kernels get the read end, by `pass_fds`
        self.read_fd, self._write_fd = os.pipe()
        self._prctl = (
            ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
        )

    def launch_options(self, *, sandboxed: bool) -> dict:
        """Popen options for a kernel: bound to the grader's life; a sandbox gets the lifeline's read end.

        A sandbox is bound by its watchdog alone, not by PDEATHSIG on bubblewrap: bubblewrap
        killed while it sets the sandbox up leaves its inner process waiting forever for a setup
        that never comes (2 runs in 12 of the killed-grader test left one); left alone, it
        finishes the set-up, and the watchdog inside sees the lifeline closed and ends it all.
        """
        if sandboxed:
            return {"pass_fds": (self.read_fd,)}
        if self._prctl is not None:
            return {"preexec_fn": functools.partial(_die_with, self._prctl, os.getpid())}
        return {}

    def close(self) -> None:
        for fd in (self.read_fd, self._write_fd):
            try:
                os.close(fd)
            except OSError:
                pass


def is_root() -> bool:
    return os.geteuid() == 0


@functools.cache
def bwrap_works(uid: int | None = None, gid: int | None = None) -> bool:
    """bubblewrap is installed and may create namespaces here (not always so in containers).

    With `uid`/`gid` (asked as root): whether it does so for that unprivileged account, through
    a user namespace (what `incubo grade` on the hub runs as, the course directory's owner).
    """
    if not Path(BWRAP).exists():
        return False
    prefix = []
    if uid is not None:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        prefix = [
            setpriv,
            f"--reuid={uid}",
            f"--regid={gid if gid is not None else uid}",
            "--clear-groups",
        ]
    cmd = prefix + [
        BWRAP,
        *(["--unshare-user"] if uid is not None else []),
        "--unshare-net",
        "--unshare-pid",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--",
        "/bin/true",
    ]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20, cwd="/").returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _editable_paths(site_dir: str) -> list[str]:
    """Folders that editable installs (setuptools finders, .pth lines) add to imports."""
    found: list[str] = []
    for finder in glob.glob(os.path.join(site_dir, "__editable__*finder.py")):
        text = Path(finder).read_text(encoding="utf-8", errors="replace")
        m = re.search(r"^MAPPING\s*(?::[^=]*)?=\s*(\{.*?\})\s*$", text, re.M | re.S)
        if m:
            try:
                found.extend(str(v) for v in ast.literal_eval(m.group(1)).values())
            except (ValueError, SyntaxError):
                log.debug("unreadable editable finder %s", finder)
    for pth in glob.glob(os.path.join(site_dir, "*.pth")):
        for line in Path(pth).read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "import ")) and os.path.isabs(line):
                found.append(line)
    return found


@functools.cache
def python_paths() -> tuple[str, ...]:
    """Everything the kernel's Python needs to import, read-only in the sandbox."""
    paths = {
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
    }
    # only the installation and its editable packages, not whatever folder started us
    for entry in sys.path:
        if entry and os.path.isabs(entry) and entry.endswith(("site-packages", "dist-packages")):
            paths.add(entry)
            paths.update(_editable_paths(entry))
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        if entry and os.path.isabs(entry):
            paths.add(entry)
    existing = sorted(p for p in {os.path.realpath(p) for p in paths} | paths if os.path.exists(p))
    # keep only outermost folders
    kept: list[str] = []
    for p in existing:
        if p == "/" or any(p == k or p.startswith(k.rstrip("/") + "/") for k in kept):
            continue
        kept.append(p)
    return tuple(kept)


@dataclass
class SandboxPlan:
    """What a sandbox shows and limits, the same for all kernels of one run."""

    limits: Limits
    course_root: Path
    isolate: bool
    uid_counter: itertools.count = field(default_factory=lambda: itertools.count())

    def next_uid(self) -> int | None:
        """A fresh unprivileged uid per kernel, so the process cap is per kernel."""
        if not (self.isolate and is_root()):
            return None
        return self.limits.uid_base + next(self.uid_counter) % 50000

    def _nproc(self) -> int:
        if is_root() and self.isolate:
            return self.limits.max_processes
        # without our own uid the cap counts the grader's processes too
        try:
            mine = sum(
                1
                for p in Path("/proc").iterdir()
                if p.name.isdigit() and p.stat().st_uid == os.getuid()
            )
        except OSError:
            mine = 0
        return self.limits.max_processes + mine * 8

    def rlimit_prefix(self) -> list[str]:
        prlimit = shutil.which("prlimit")
        if not prlimit:
            return []
        lim = self.limits
        return [
            prlimit,
            f"--as={lim.memory_mib * 1024 * 1024}",
            f"--nproc={self._nproc()}",
            f"--fsize={lim.file_mib * 1024 * 1024}",
            "--core=0",
            "--",
        ]

    def command_prefix(
        self,
        *,
        workdir: Path,
        mountpoint: Path,
        runtime_dir: Path,
        uid: int | None,
        lifeline: int | None = None,
    ) -> list[str]:
        """The command that wraps a kernel's argv: bwrap, the watchdog, the user change, the limits.

        `lifeline`: the read end of the grader's `Lifeline`, passed to the kernel's process.
        """
        if not self.isolate:
            return self.rlimit_prefix()
        dirs = _Folders()
        args = [BWRAP, *_namespaces(uid), *_system_binds()]
        # /tmp lives in memory: bounded like the kernel's own memory. Mounted before the
        # Python paths, which may themselves lie under /tmp (a checkout or venv there).
        tmp_size = str(self.limits.memory_mib * 1024 * 1024)
        args += ["--proc", "/proc", "--dev", "/dev"]
        args += ["--perms", "1777", "--size", tmp_size, "--tmpfs", "/tmp"]
        args += self._python_binds(dirs)
        args += dirs.parents(str(runtime_dir)) + ["--bind", str(runtime_dir), str(runtime_dir)]
        args += dirs.parents(str(mountpoint))
        args += ["--bind", str(workdir), str(mountpoint), "--chdir", str(mountpoint)]
        args += ["--", *_inside(lifeline, uid)]
        return args + self.rlimit_prefix()

    def _python_binds(self, dirs: _Folders) -> list[str]:
        """Python and its packages shown read-only; the course never, even when Python lives in it."""
        args: list[str] = []
        course = str(self.course_root)
        for path in python_paths():
            if path == course or path.startswith(course + "/"):
                continue  # never show the course, even when Python lives in it
            if path.startswith(("/usr/", "/etc/")):
                continue
            args += dirs.parents(path) + ["--ro-bind", path, path]
            dirs.made.add(path)
        for path in python_paths():
            if course.startswith(path.rstrip("/") + "/"):
                args += ["--tmpfs", course]  # the course lies under a shown folder: hide it
                break
        return args

    def environment(self, mountpoint: Path) -> dict[str, str]:
        """The kernel's environment: what nbgrader's kernels see that matters, and no secrets."""
        env = {k: os.environ[k] for k in PASSED_ENV if k in os.environ}
        venv_bin = os.path.dirname(sys.executable)
        env.update(
            PATH=f"{venv_bin}:/usr/local/bin:/usr/bin:/bin",
            HOME="/tmp" if self.isolate else os.environ.get("HOME", "/tmp"),
            IPYTHONDIR="/tmp/.ipython",
            MPLCONFIGDIR="/tmp/.matplotlib",
            JUPYTER_RUNTIME_DIR="/tmp/.jupyter-runtime",
            **{env_var("grading"): "1"},
            NBGRADER_EXECUTION="autograde",
            PYTHONDONTWRITEBYTECODE="1",
            OPENBLAS_NUM_THREADS="1",
            OMP_NUM_THREADS="1",
            MKL_NUM_THREADS="1",
            MALLOC_ARENA_MAX="2",
        )
        env.setdefault("LANG", "C.UTF-8")
        return env


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel command runs inside our sandbox."""

    sandbox_prefix = List([]).tag(config=False)
    sandbox_uid = Integer(-1).tag(config=False)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        if self.sandbox_uid >= 0 and self.connection_file and os.path.exists(self.connection_file):
            # written by us just before, with mode 0600: the kernel's user must read it
            os.chown(self.connection_file, self.sandbox_uid, self.sandbox_uid)
        return list(self.sandbox_prefix) + cmd

    def kill_now(self) -> None:
        """SIGKILL the sandbox: its process namespace takes every student process with it."""
        proc = getattr(self.provisioner, "process", None) if self.provisioner else None
        if proc is not None and proc.poll() is None:
            try:
                proc.kill()
            except OSError:
                pass


def chown_tree(path: Path, uid: int) -> None:
    """Give a working copy to the kernel's user (and back to us afterwards)."""
    os.chown(path, uid, uid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            try:
                os.lchown(os.path.join(root, name), uid, uid)
            except FileNotFoundError:
                pass


def scrub_tree(path: Path) -> list[str]:
    """Remove what a kernel may have planted in its working copy to trap the grader.

    A symlink (our writes and chmods would follow it out of the copy), a
    FIFO (a write would block), a socket: anything but plain files and
    folders goes. Returns what was removed.
    """
    import stat

    removed = []
    for root, dirs, files in os.walk(path, topdown=True, followlinks=False):
        for name in list(dirs) + files:
            full = os.path.join(root, name)
            try:
                mode = os.lstat(full).st_mode
            except FileNotFoundError:
                continue
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                os.unlink(full)
                removed.append(full)
                if name in dirs:
                    dirs.remove(name)
    return removed


def uid_alive(uid: int) -> bool:
    """Does any process still run as `uid`? (a killed sandbox's namespace is torn down asynchronously)"""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat(follow_symlinks=False).st_uid == uid:
                    return True
            except OSError:
                continue
    return False


class _Folders:
    """The folders bwrap has made so far inside the sandbox; `parents` makes the missing ones."""

    def __init__(self) -> None:
        self.made: set[str] = {"/", "/usr", "/etc", "/tmp"}

    def parents(self, path: str) -> list[str]:
        out = []
        for parent in reversed(Path(path).parents):
            p = str(parent)
            if p not in self.made:
                self.made.add(p)
                out += ["--perms", "0755", "--dir", p]
        return out


def _namespaces(uid: int | None) -> list[str]:
    """bwrap's namespaces and session; the capabilities to change user when there is one to become."""
    args = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
    args += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    args += ["--hostname", "correction"]
    # in a PID namespace the kernel's parent is pid 1: ipykernel would think it was orphaned
    args += ["--unsetenv", "JPY_PARENT_PID"]
    if uid is not None:
        args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-user-try"]
    return args


def _system_binds() -> list[str]:
    """/usr, the top-level links or folders into it, and the few /etc files a kernel reads."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return args


def _inside(lifeline: int | None, uid: int | None) -> list[str]:
    """What runs inside bwrap before the kernel: the watchdog, then the change to the grading user."""
    args: list[str] = []
    if lifeline is not None:
        watchdog = [sys.executable, "-I", "-S", "-c", WATCHDOG]
        args += watchdog + [str(lifeline), str(-1 if uid is None else uid)]
    if uid is not None:
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        args += [setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        args += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    return args
