"""The Python the learners' servers run: executable by their accounts, and holding no course source.

The hub runs as root, often from a checkout (README's room section) whose
`courses/` and `tests/` hold every solution and hidden test. Learners'
servers must not run from there: an interpreter inside the checkout would
need the checkout readable by every account. So, unless INCUBO_HUB_PYTHON
names one, learners run from an environment the hub
builds from its own, `/var/lib/incubo/python/<state>/`:

- `lib/pythonX.Y/site-packages`, `share`, `etc`: hard links to this
  environment's files (a copy when across file systems), without the
  editable install's hooks; incubo itself is linked in from where it is
  imported (the checkout's `incubo/`, `widgets/`, ... for an editable
  install): code only, never `courses/` nor `tests/`;
- `bin/python3`: the interpreter (this one when every account can execute
  it, else the system's Python of the same version), `bin/<script>` the
  console scripts with their first line pointing at it;
- one per state of the hub's environment (a stamp of names, sizes and
  modification times: built again only when the installed packages or
  incubo's files change; a few seconds for ~50,000 links), shared by every
  hub started from that environment.

Then, when incubo runs from a checkout, the hub takes the other accounts'
rights off the checkout's course sources (`courses/`, `tests/`).
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
import stat
import sys
from pathlib import Path

from incubo.config import HubSettings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"
#: incubo's import packages (pyproject's package-dir): linked in from where they are imported.
PACKAGES = (
    "incubo",
    "incubo.widgets",
    "incubo.grading",
    "incubo.reports",
    "incubo.apps",
    "incubo.hub",
)
#: What an editable install adds to site-packages and a learner's environment never needs.
_EDITABLE = ("__editable__", "__pycache__")
#: Folders of a checkout that hold course sources (solutions, hidden tests).
SOURCE_FOLDERS = ("courses", "tests")
STAMP = ".incubo-env"
#: Folders of share/ and etc/ whose changes (not seen in site-packages) also make a new environment.
_SHARED = (
    "share/jupyter/labextensions",
    "share/jupyter/lab/settings",
    "etc/jupyter/jupyter_server_config.d",
)


def usable_by_others(path: Path) -> bool:
    """Whether an account that is neither owner nor group can execute `path` (every parent traversable)."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in real.parents)
    except OSError:
        return False


def _site() -> Path:
    return Path(sys.prefix) / "lib" / VERSION / "site-packages"


def _package_dirs() -> dict[str, Path]:
    """incubo's packages → the folder each is imported from (checkout or site-packages)."""
    found = {}
    for name in PACKAGES:
        module = importlib.import_module(name)
        found[name] = Path(next(iter(module.__path__)))
    return found


def _editable(packages: dict[str, Path]) -> bool:
    site = os.path.realpath(_site())
    return not os.path.realpath(packages["incubo"]).startswith(site + os.sep)


def _stamp(packages: dict[str, Path], python: Path) -> str:
    """Names, sizes and times of what the environment is made of (cheap: no file is read)."""
    digest = hashlib.sha256(f"{python}\n{sys.prefix}\n".encode())
    site = _site()
    for entry in sorted(os.scandir(site), key=lambda e: e.name):
        st = entry.stat(follow_symlinks=False)
        digest.update(f"{entry.name} {st.st_mtime_ns} {st.st_size}\n".encode())
    for shared in _SHARED:  # lab extensions, settings overrides, server extensions' config
        folder = Path(sys.prefix) / shared
        for entry in sorted(os.scandir(folder), key=lambda e: e.name) if folder.is_dir() else []:
            st = entry.stat(follow_symlinks=False)
            digest.update(f"{shared}/{entry.name} {st.st_mtime_ns} {st.st_size}\n".encode())
    if _editable(packages):
        for folder in packages.values():
            for root, dirs, files in os.walk(folder):
                dirs[:] = sorted(d for d in dirs if d != "__pycache__")
                for name in sorted(files):
                    st = os.stat(os.path.join(root, name))
                    digest.update(f"{root}/{name} {st.st_mtime_ns} {st.st_size}\n".encode())
    return digest.hexdigest()


def _link_tree(src: Path, dest: Path, skip=lambda name: False) -> int:
    """Hard-link (or copy across file systems) `src` into `dest`; links inside stay links."""
    count = 0
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        dirs[:] = [d for d in dirs if not skip(d)]
        target = dest / rel if rel != "." else dest
        target.mkdir(parents=True, exist_ok=True)
        os.chmod(target, 0o755)
        for d in dirs:
            if os.path.islink(os.path.join(root, d)):
                os.symlink(os.readlink(os.path.join(root, d)), target / d)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
        for name in files:
            if skip(name):
                continue
            path = os.path.join(root, name)
            if os.path.islink(path):
                os.symlink(os.readlink(path), target / name)
                continue
            try:
                os.link(path, target / name)
            except OSError:
                shutil.copy2(path, target / name)
            count += 1
    return count


def _scripts(dest: Path, python: str, final: Path) -> None:
    """bin/: the interpreter, then each console script of this environment pointed at `final`'s."""
    bindir = dest / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    (bindir / "python3").symlink_to(python)
    (bindir / "python").symlink_to("python3")
    own = Path(sys.prefix) / "bin"
    for entry in sorted(own.iterdir()):
        if entry.name.startswith(("python", "activate", "Activate", "pip")) or not entry.is_file():
            continue
        try:
            with entry.open("rb") as f:
                first = f.readline(512)
                if not first.startswith(b"#!") or b"python" not in first:
                    continue
                rest = f.read()
        except OSError:
            continue
        script = bindir / entry.name
        script.write_bytes(b"#!" + str(final / "bin" / "python3").encode() + b"\n" + rest)
        script.chmod(0o755)


#: Where the learners' environments are built, one per state of the hub's environment (shared by hubs).
ENVS = Path("/var/lib/incubo/python")
#: Environments of the same hub environment kept (the newest), for hubs still running an older one.
KEEP = 3


def build_env(settings: HubSettings, python: Path, envs: Path | None = None) -> Path:
    """The learners' environment of this hub environment's current state; return its interpreter.

    Built once per state (see the module's docstring) under `envs`, then reused by every hub
    started from the same environment: a hub start pays only the stamp (a few ms).
    """
    envs = Path(envs or ENVS)
    packages = _package_dirs()
    stamp = _stamp(packages, python)
    view = envs / stamp[:16]
    if (view / STAMP).is_file():
        return view / "bin" / "python3"
    envs.mkdir(parents=True, exist_ok=True)
    for d in (envs, *envs.parents):
        if d.stat().st_mode & 0o005 != 0o005:
            d.chmod(d.stat().st_mode | 0o005)  # learners must reach the interpreter
        if d == Path("/var/lib"):
            break
    tmp = envs / f".construction-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    site = tmp / "lib" / VERSION / "site-packages"
    editable = _editable(packages)
    count = _link_tree(_site(), site, skip=lambda name: name.startswith(_EDITABLE))
    if editable:
        for name, folder in packages.items():
            below = site.joinpath(*name.split("."))
            shutil.rmtree(below, ignore_errors=True)
            nested = {n.split(".")[-1] for n in packages if n.startswith(name + ".")}
            count += _link_tree(
                folder, below, skip=lambda n, nested=nested: n in nested or n == "__pycache__"
            )
    for extra in ("share", "etc"):
        if (Path(sys.prefix) / extra).is_dir():
            count += _link_tree(Path(sys.prefix) / extra, tmp / extra)
    _scripts(tmp, str(python), view)
    (tmp / "pyvenv.cfg").write_text(
        f"home = {python.parent}\ninclude-system-site-packages = false\n"
        f"version = {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}\n",
        encoding="utf-8",
    )
    (tmp / "source").write_text(sys.prefix, encoding="utf-8")
    (tmp / STAMP).write_text(stamp, encoding="utf-8")
    for d in (tmp, tmp / "lib", tmp / "lib" / VERSION):
        d.chmod(0o755)
    try:
        os.rename(tmp, view)
    except OSError:  # another hub built the same state meanwhile
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("learners' environment %s: %d files linked from %s", view, count, sys.prefix)
    _prune(envs)
    return view / "bin" / "python3"


def _prune(envs: Path) -> None:
    """Keep the newest KEEP environments built from this hub environment; remove older ones."""
    mine = []
    for d in envs.iterdir():
        try:
            if (d / "source").read_text(encoding="utf-8") == sys.prefix:
                mine.append((d.stat().st_mtime, d))
        except OSError:
            continue
    for _, d in sorted(mine, reverse=True)[KEEP:]:
        shutil.rmtree(d, ignore_errors=True)


def seal_checkout(packages: dict[str, Path] | None = None) -> list[Path]:
    """When incubo is imported from a checkout, take the other accounts' rights off its course sources."""
    packages = packages or _package_dirs()
    if not _editable(packages):
        return []
    checkout = Path(os.path.realpath(packages["incubo"])).parent
    if not (checkout / "pyproject.toml").is_file():
        return []
    sealed = []
    for name in SOURCE_FOLDERS:
        folder = checkout / name
        if folder.is_dir() and not folder.is_symlink():
            mode = stat.S_IMODE(folder.stat().st_mode)
            if mode & 0o007:
                folder.chmod(mode & ~0o007)
                log.warning("%s: no longer readable by learners (course sources)", folder)
            sealed.append(folder)
    return sealed


def _interpreter() -> Path | None:
    """An interpreter of this Python's version that every account can execute."""
    own = Path(os.path.realpath(sys.executable))
    if usable_by_others(own):
        return own
    system_python = Path("/usr/bin") / VERSION
    return system_python if usable_by_others(system_python) else None


def learner_python(settings: HubSettings) -> str:
    """The interpreter to start learners' servers and kernels with."""
    explicit = getattr(settings, "python", "")
    if explicit:
        return explicit
    python = _interpreter()
    if python is None:
        raise IncuboError(
            f"L'interpréteur Python « {sys.executable} » n'est pas accessible aux comptes des apprenants et "
            f"{VERSION} manque dans /usr/bin : installez-le (apt install {VERSION}) ou indiquez un "
            "interpréteur avec INCUBO_HUB_PYTHON.",
            code="hub-python-inaccessible",
        )
    if os.geteuid() != 0:  # not a room (no accounts to protect from): this environment as it is
        return str(Path(sys.prefix) / "bin" / "python3")
    built = build_env(settings, python)
    seal_checkout()
    return str(built)
