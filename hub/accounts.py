"""One Unix account per hub user: the isolation every learner's server runs under.

The single place that creates and removes accounts (nobody else calls
useradd). Rule for names: `jupyter-` + the hub name lower-cased, every
character outside ``[a-z0-9_-]`` replaced by ``-``; when that changed the
name or made it longer than 32 characters, it is cut and followed by ``-`` and
the first 8 hex digits of the name's SHA-256, so two hub users never share an
account. The same prefix as The Littlest JupyterHub, so IT recognises them.
"""

from __future__ import annotations

import contextlib
import grp
import hashlib
import logging
import os
import pwd
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

PREFIX = "jupyter-"
MAX_LEN = 32

_lock = threading.Lock()  # useradd/groupadd lock /etc/passwd: one at a time in this process
#: One writer of /etc/passwd among our processes (the hub, its services' launchers, the CLI).
LOCK_FILE = Path("/run/lock") / "incubo-comptes.lock"
#: Learners' kernels talk to their server over Unix sockets, in a folder of each learner's own here.
KERNEL_SOCKETS = Path("/run/incubo-noyaux")
#: A Unix socket's path is at most 107 bytes; jupyter_client names a kernel's five sockets
#: `<runtime dir>/kernel-<uuid>-ipc-<n>`.
MAX_SOCKET_PATH = 107
_SOCKET_NAME = "/kernel-00000000-0000-0000-0000-000000000000-ipc-99"


class AccountError(RuntimeError):
    """An account could not be created or used (message in French, for the hub's error page)."""


def unix_name(hub_user: str) -> str:
    """The Unix account name of a hub user (valid, at most 32 characters, one per hub user)."""
    lowered = hub_user.strip().lower()
    slug = re.sub(r"[^a-z0-9_-]", "-", lowered)
    name = PREFIX + slug
    if slug != lowered or len(name) > MAX_LEN or not slug:
        digest = hashlib.sha256(hub_user.encode("utf-8")).hexdigest()[:8]
        name = f"{name[: MAX_LEN - 9].rstrip('-')}-{digest}"
    return name


def _run(cmd: list[str]) -> None:
    """Run useradd-like tools, retrying while another process holds the password file lock."""
    deadline = time.monotonic() + 60
    while True:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0:
            return
        busy = "lock" in proc.stderr.lower() or proc.returncode == 10
        if not busy or time.monotonic() > deadline:
            raise AccountError(f"La commande « {' '.join(cmd)} » a échoué : {proc.stderr.strip()}")
        time.sleep(0.2)


def ensure_account(hub_user: str, home_base: Path | str = "/home") -> tuple[str, Path]:
    """The (unix name, home) of `hub_user`, creating the account with a private home if needed."""
    name = unix_name(hub_user)
    home = Path(home_base) / name
    with _passwd_lock():
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            Path(home_base).mkdir(parents=True, exist_ok=True)
            log.info("creating Unix account %s for hub user %s", name, hub_user)
            _run(
                [
                    "useradd",
                    "--create-home",
                    "--home-dir",
                    str(home),
                    "--shell",
                    "/bin/bash",
                    "--user-group",
                    "--no-log-init",
                    "--comment",
                    f"incubo {hub_user}"[:60],
                    name,
                ]
            )
            entry = pwd.getpwnam(name)
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise AccountError(f"Le compte Unix « {name} » est un compte administrateur : refusé.")
    home = Path(entry.pw_dir)
    if not home.is_dir():
        home.mkdir(parents=True)
        os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)  # only its owner may read it, whatever useradd's HOME_MODE is
    return name, home


@contextlib.contextmanager
def _passwd_lock():
    """This process's lock, then one shared by every process of ours that runs useradd."""
    import fcntl

    with _lock:
        folder = LOCK_FILE.parent if LOCK_FILE.parent.is_dir() else Path("/tmp")
        with open(folder / LOCK_FILE.name, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield


def trainers_group() -> str:
    """The trainers' Unix group (INCUBO_HUB_GROUPE_FORMATEURS): trainers' accounts and the grader."""
    from incubo.config import hub_settings

    return hub_settings().trainers_group


def set_trainer(unix_user: str, trainer: bool, group: str | None = None) -> None:
    """Put the account in (or out of) the trainers' Unix group (created by the hub at start)."""
    group = group or trainers_group()
    with _passwd_lock():
        try:
            members = grp.getgrnam(group).gr_mem
        except KeyError:
            if not trainer:
                return
            _run(["groupadd", "--force", "--system", group])
            members = []
        if trainer and unix_user not in members:
            _run(["usermod", "--append", "--groups", group, unix_user])
        elif not trainer and unix_user in members:
            _run(["gpasswd", "--delete", unix_user, group])


def trainers_gid(group: str | None = None) -> int | None:
    """The trainers' Unix group id, or None while the hub has not made it (never creates it)."""
    try:
        return grp.getgrnam(group or trainers_group()).gr_gid
    except KeyError:
        return None


def ensure_group(name: str) -> int:
    """The gid of the system group `name`, created if missing (at hub start, never at config load)."""
    with _passwd_lock():
        with contextlib.suppress(KeyError):
            return grp.getgrnam(name).gr_gid
        _run(["groupadd", "--force", "--system", name])
        return grp.getgrnam(name).gr_gid


def ensure_system_account(name: str, groups: tuple[str, ...] = ()) -> pwd.struct_passwd:
    """A system account of the room (grader, services): no login shell, its own group, private home.

    Refuses an existing account that is root's or an administrator's. `groups` are
    supplementary groups it must belong to (created if missing).
    """
    for group in groups:
        ensure_group(group)
    home = Path("/var/lib") / name
    with _passwd_lock():
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            log.info("creating system account %s", name)
            _run(
                [
                    "useradd", "--system", "--user-group", "--no-log-init",
                    "--create-home", "--home-dir", str(home),
                    "--shell", "/usr/sbin/nologin",
                    "--comment", "incubo (compte de service de la salle)",
                    name,
                ]
            )  # fmt: skip
            entry = pwd.getpwnam(name)
        if entry.pw_uid == 0 or entry.pw_gid == 0:
            raise AccountError(f"Le compte Unix « {name} » est un compte administrateur : refusé.")
        missing = [g for g in groups if name not in grp.getgrnam(g).gr_mem]
        if missing:
            _run(["usermod", "--append", "--groups", ",".join(missing), name])
    home = Path(entry.pw_dir)
    if not home.is_dir():
        home.mkdir(parents=True)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    return entry


def kernel_sockets_dir(unix_user: str) -> Path:
    """Where a learner's server keeps its kernels' connection files and Unix sockets."""
    return KERNEL_SOCKETS / unix_user


def prepare_kernel_sockets(unix_user: str) -> Path | None:
    """The learner's kernel sockets folder (0700, theirs), made by root; None (TCP) if it cannot be.

    Over TCP each learner's server picks its kernels' five ports by binding port 0 and closing
    it, and the kernel binds them a moment later: with thirty servers starting kernels at once,
    two pick the same port, the kernel dies on « Address already in use » and the learner's
    websocket drops. Unix sockets in a folder of the learner's own cannot collide.
    """
    folder = kernel_sockets_dir(unix_user)
    if len(os.fsencode(str(folder) + _SOCKET_NAME)) > MAX_SOCKET_PATH:
        log.warning(
            "kernel sockets path too long under %s: %s's kernels use TCP", folder, unix_user
        )
        return None
    try:
        entry = pwd.getpwnam(unix_user)
        _private_dir(KERNEL_SOCKETS, 0, 0, 0o711)
        _private_dir(folder, entry.pw_uid, entry.pw_gid, 0o700)
    except (OSError, KeyError) as exc:
        log.warning(
            "kernel sockets folder %s not made (%s): %s's kernels use TCP", folder, exc, unix_user
        )
        return None
    return folder


def _private_dir(path: Path, uid: int, gid: int, mode: int) -> None:
    """A real folder (never a symbolic link) with this owner and mode, made if missing."""
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, mode)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
    finally:
        os.close(fd)


def remove_kernel_sockets(unix_user: str) -> None:
    """Remove the learner's kernel sockets folder (with the account)."""
    import shutil

    folder = kernel_sockets_dir(unix_user)
    if unix_user and "/" not in unix_user and unix_user not in (".", ".."):
        shutil.rmtree(folder, ignore_errors=True)


def remove_group(name: str) -> None:
    """Remove a group the hub made (tests' clean-up)."""
    with _passwd_lock():
        with contextlib.suppress(KeyError):
            grp.getgrnam(name)
            _run(["groupdel", name])


def kill_processes(unix_user: str) -> None:
    """Stop every process of the account (its server, kernels), so it can be removed."""
    import psutil

    try:
        uid = pwd.getpwnam(unix_user).pw_uid
    except KeyError:
        return
    procs = [
        p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid
    ]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for p in procs:
            with contextlib.suppress(psutil.Error):
                p.send_signal(sig)
        _, procs = psutil.wait_procs(procs, timeout=5)
        if not procs:
            return


def remove_account(hub_user: str | None = None, *, unix_user: str | None = None) -> None:
    """Remove a hub user's account, its processes and its home (tests' clean-up, leaving learners)."""
    name = unix_user or unix_name(hub_user or "")
    try:
        home = Path(pwd.getpwnam(name).pw_dir)
    except KeyError:
        remove_kernel_sockets(name)
        return
    kill_processes(name)
    remove_kernel_sockets(name)
    with _passwd_lock():
        _run(["userdel", "--remove", "--force", name])
        with contextlib.suppress(KeyError):
            grp.getgrnam(name)
            _run(["groupdel", name])
    if home.exists() and home.name == name and home != Path("/"):
        import shutil

        shutil.rmtree(home, ignore_errors=True)
