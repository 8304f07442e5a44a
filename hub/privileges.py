"""Who runs as whom in the room: the hub's system accounts, what they own, and the drop to them.

Only the hub (JupyterHub) stays root: it creates learners' accounts and
spawns their servers. Whatever parses learners' requests or data runs under
an unprivileged system account, made when the hub starts (never when its
configuration is loaded):

| account (setting) | runs | owns |
| --- | --- | --- |
| root | JupyterHub, `incubo hub` (supervises), the launchers below until they drop | `<hub>/` 0755; `cookie_secret`, `proxy_token`, `service_token`, `jupyterhub.sqlite` 0600; `logs/` 0700 |
| grader `incubo-correcteur` (`INCUBO_HUB_COMPTE_CORRECTEUR`) | the formgrader and its « Devoirs » page; `incubo grade autograde / collect / feedback` run by root on the hub | the course directory, group: the services account's, 0750; `<hub>/correction-lrs.json` 0600 (its credential at the gate) |
| services `incubo-services` (`INCUBO_HUB_COMPTE_SERVICES`) | proxy, LRS gate, Ralph, dashboard (séances), solutions; `incubo grade release` and `incubo seance` run by root on the hub | `<hub>/lrs/` 0700 (secrets, Ralph's data), `<hub>/seances/` 0700, `<hub>/rgpd/` 0700 (the gate records learners' notice and research choice; root's `incubo rgpd` keeps its files the account's), the exchange's `outbound/` 2775 (its group: the grader, which releases from « Devoirs »; folders 2775, files 0664 inside) |
| each learner `jupyter-<name>` | their server and kernels | their home 0700, their `inbound/` and `feedback/` folders (group: trainers) |
| throw-away uid (root's autograde) or the grader (through bubblewrap's user namespace) | sandboxed grading kernels | their working copy |

The grader belongs to the trainers' group (`INCUBO_HUB_GROUPE_FORMATEURS`),
which may enter learners' submission and feedback folders. The hub's own
secrets (`cookie_secret`, `proxy_token`, `service_token`, its database) stay
root's, mode 0600.

A hub-managed service is started through `python -m incubo.hub.privileges
ROLE -- COMMAND`: as root, it prepares the accounts and what they own, then
becomes the role's account and runs COMMAND (so this works for `incubo hub`,
TLJH and a hub started by hand alike); not as root (a hub pod), it just runs
COMMAND.
"""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import pwd
import stat
import sys
from pathlib import Path

from incubo.config import HubSettings, hub_settings

log = logging.getLogger(__name__)

ROLES = ("services", "correcteur")
#: Environment variables that name the accounts, passed to every launcher.
ACCOUNT_ENV = (
    "INCUBO_HUB_COMPTE_CORRECTEUR",
    "INCUBO_HUB_COMPTE_SERVICES",
    "INCUBO_HUB_GROUPE_FORMATEURS",
    "INCUBO_HUB_DIR",
    "INCUBO_COURSE_DIR",
    "INCUBO_COURSE_ID",
)


def account_env(settings: HubSettings) -> dict[str, str]:
    """What a launcher needs to find the same accounts and folders as the hub."""
    return {
        "INCUBO_HUB_COMPTE_CORRECTEUR": settings.grader_user,
        "INCUBO_HUB_COMPTE_SERVICES": settings.service_user,
        "INCUBO_HUB_GROUPE_FORMATEURS": settings.trainers_group,
        "INCUBO_HUB_DIR": str(settings.hub_dir),
        "INCUBO_COURSE_DIR": str(settings.course_dir),
        "INCUBO_COURSE_ID": settings.course_id,
    }


def launcher(role: str, command: list[str]) -> list[str]:
    """`command` run as the role's account (see the module's docstring)."""
    assert role in ROLES
    return [sys.executable, "-m", "incubo.hub.privileges", role, "--", *command]


def unprivileged_python(settings: HubSettings, python: str | os.PathLike, name: str) -> str:
    """An interpreter of the virtual environment of `python` that the room's accounts can execute.

    The hub's Python may live where only root goes (pyenv under /root): then a small view in
    `<hub>/python-<name>`, the system interpreter of the same version over the environment's
    packages (as incubo.hub.pythonenv does for learners).
    """
    from incubo.hub.pythonenv import usable_by_others

    path = Path(python)
    if usable_by_others(path):
        return str(path)
    prefix = path.parent.parent
    try:
        cfg = (prefix / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return str(path)
    version = next(
        (line.split("=", 1)[1].strip() for line in cfg.splitlines() if line.startswith("version")),
        "",
    )
    short = "python" + ".".join(version.split(".")[:2])
    system, site = Path("/usr/bin") / short, prefix / "lib" / short / "site-packages"
    if not (version and usable_by_others(system) and usable_by_others(site)):
        return str(path)
    view = Path(settings.hub_dir) / f"python-{name}"
    links = {
        view / "bin" / "python3": system,
        view / "bin" / "python": Path("python3"),
        view / "lib" / short / "site-packages": site,
        view / "share": prefix / "share",
        view / "etc": prefix / "etc",
    }
    for link, target in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    (view / "pyvenv.cfg").write_text(
        f"home = {system.parent}\ninclude-system-site-packages = false\nversion = {version}\n",
        encoding="utf-8",
    )
    for folder in (view, view / "bin", view / "lib", view / "lib" / short):
        folder.chmod(0o755)
    return str(view / "bin" / "python3")


def account_of(role: str, settings: HubSettings) -> str:
    return settings.grader_user if role == "correcteur" else settings.service_user


def prepare_accounts(settings: HubSettings) -> None:
    """The trainers' group, the services account, and the grader (in the trainers' group and the
    services account's group: it releases modules from « Devoirs » into the outbound folder)."""
    from incubo.hub import accounts

    accounts.ensure_group(settings.trainers_group)
    service = accounts.ensure_system_account(settings.service_user)
    services_group = grp.getgrgid(service.pw_gid).gr_name
    accounts.ensure_system_account(settings.grader_user, (settings.trainers_group, services_group))


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    """Give a folder and everything in it to uid:gid, never following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    os.close(fd)
    for folder, dirs, files in os.walk(root, followlinks=False):
        for path in [folder, *(os.path.join(folder, name) for name in dirs + files)]:
            with contextlib.suppress(FileNotFoundError):
                st = os.lstat(path)
                if (st.st_uid, st.st_gid) != (uid, gid):  # a restart changes little
                    os.lchown(path, uid, gid)


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    if path.is_symlink():
        raise RuntimeError(f"{path} is a symbolic link: refusing to give it away")
    if not path.is_dir():
        return
    _chown_tree(path, uid, gid)
    os.chmod(path, mode)


#: The exchange's outbound folder on a hub: the services account's, its group (the grader) may
#: write, every learner may read; setgid, so what either writes stays in that group.
OUTBOUND_MODE = 0o2775


def _group_writable(root: Path) -> None:
    """Folders 2775 and files 0664 under `root` (released before the grader could write).

    Root does it at hub start in a folder the services account writes: every level is opened
    relative to its parent with O_NOFOLLOW and changed through its descriptor, so no link
    planted there (even swapped in meanwhile) makes root change another file's mode.
    """
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        return
    _group_writable_fd(fd, 0)


def _group_writable_fd(fd: int, depth: int) -> None:
    try:
        os.fchmod(fd, 0o2775)
        names = os.listdir(fd) if depth < 16 else []
        for name in names:
            try:
                child = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
            except OSError:  # a link (ELOOP), or gone
                continue
            mode = os.fstat(child).st_mode
            if stat.S_ISDIR(mode):
                _group_writable_fd(child, depth + 1)
                continue
            if stat.S_ISREG(mode):
                os.fchmod(child, 0o664)
            os.close(child)
    finally:
        os.close(fd)


def prepare_ownership(settings: HubSettings, roles: tuple[str, ...] = ROLES) -> None:
    """Give the course directory to the grader and the services' folders to the services account."""
    from incubo.hub import lrs_keys
    from incubo.seance import seances_dir

    grader = pwd.getpwnam(settings.grader_user)
    service = pwd.getpwnam(settings.service_user)
    course = Path(settings.course_dir)
    if "correcteur" in roles and course.is_dir():
        # the services read it (solutions, dashboard, séances); learners and trainers' servers do not
        _own(course, grader.pw_uid, service.pw_gid, 0o750)
    if "correcteur" in roles:  # its way to the LRS gate (written by the hub's configuration)
        from incubo.authority import ACCESS_FILE

        access = Path(settings.hub_dir) / ACCESS_FILE
        if access.is_file() and not access.is_symlink():
            os.lchown(access, grader.pw_uid, grader.pw_gid)
            os.chmod(access, 0o600)
    if "services" not in roles:
        return
    lrs = lrs_keys.lrs_dir(settings.hub_dir)  # secrets made by the hub's configuration first
    lrs_keys.gate_secret(settings.hub_dir)
    lrs_keys.ralph_password(settings.hub_dir)
    _own(lrs, service.pw_uid, service.pw_gid, 0o700)
    seances = seances_dir(settings.hub_dir)
    seances.mkdir(mode=0o700, exist_ok=True)
    _own(seances, service.pw_uid, service.pw_gid, 0o700)
    store = Path(settings.hub_dir) / "rgpd"  # incubo.rgpd's store on a hub: the gate writes it
    if not store.is_symlink():
        store.mkdir(mode=0o700, exist_ok=True)
    _own(store, service.pw_uid, service.pw_gid, 0o700)
    outbound = Path(settings.hub_dir) / "exchange" / settings.course_id / "outbound"
    # a séance unlocks notebooks there; the grader (in the services' group) releases from « Devoirs »
    _own(outbound, service.pw_uid, service.pw_gid, OUTBOUND_MODE)
    _group_writable(outbound)


def prepare_room(settings: HubSettings, roles: tuple[str, ...] = ROLES) -> None:
    """Accounts, then ownership: what `incubo hub` and every service's launcher do as root."""
    import fcntl

    Path(settings.hub_dir).mkdir(parents=True, exist_ok=True)
    lock = os.open(
        Path(settings.hub_dir) / ".comptes.verrou", os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600
    )
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the services' launchers start together
        prepare_accounts(settings)
        prepare_ownership(settings, roles)
    finally:
        os.close(lock)


def drop_to(name: str) -> pwd.struct_passwd:
    """Become `name` for good (uid, gid, its groups and nothing else), with its HOME."""
    entry = pwd.getpwnam(name)
    if entry.pw_uid == 0:
        raise PermissionError(f"refusing to run as {name}: it is root")
    groups = sorted({g.gr_gid for g in grp.getgrall() if name in g.gr_mem} | {entry.pw_gid})
    os.setgroups(groups)
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    if os.getuid() == 0 or os.geteuid() == 0:  # pragma: no cover - setuid refused silently
        raise PermissionError("could not leave root")
    os.environ.update(HOME=entry.pw_dir, USER=name, LOGNAME=name)
    return entry


def run_command_as(name: str) -> None:
    """Run this `incubo` command again as `name` (root on the hub; never returns).

    In the same process the interpreter may be out of the account's reach (pyenv under
    /root): it starts again from one the account can execute, with the same arguments.
    """
    python = unprivileged_python(hub_settings(), sys.executable, "hub")
    drop_to(name)
    os.execv(python, [python, "-m", "incubo", *sys.argv[1:]])


def as_owner_of(path: Path) -> None:
    """Run as root on the hub machine: become the account that owns `path`, once, at the edge.

    The hub gives the course directory to its grader account, the séance store and the
    exchange's outbound folder to its services account: a root `incubo` command that reads
    learners' submissions or writes where a service writes runs as that account. A folder
    root owns (a laptop, a test) changes nothing.
    """
    if os.geteuid() != 0:
        return
    owner = owner_of(path)
    if owner is not None:
        run_command_as(owner.pw_name)


def owner_of(path: Path) -> pwd.struct_passwd | None:
    """The non-root account that owns `path` (a hub's course directory), if any."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_uid == 0 or not stat.S_ISDIR(st.st_mode):
        return None
    try:
        return pwd.getpwuid(st.st_uid)
    except KeyError:
        return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) < 3 or argv[0] not in ROLES or argv[1] != "--":
        print(
            f"usage : python -m incubo.hub.privileges {'|'.join(ROLES)} -- COMMANDE…",
            file=sys.stderr,
        )
        return 2
    role, command = argv[0], argv[2:]
    if os.geteuid() == 0:
        settings = hub_settings()
        prepare_room(settings, (role,))  # what the hub's configuration made as root since
        drop_to(account_of(role, settings))
    os.execvp(command[0], command)
    return 127  # pragma: no cover


if __name__ == "__main__":
    raise SystemExit(main())
