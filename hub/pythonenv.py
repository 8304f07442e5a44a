"""The Python the learners' servers run: it must be executable by their Unix accounts.

The hub runs as root; its Python may live where other accounts cannot go
(pyenv under /root is common). Servers started as a learner's account with
that interpreter fail with « Permission denied ». In order:
INCUBO_HUB_PYTHON when set; else this environment's Python when every
account can execute it; else, when this is a virtual environment and the
system has a Python of the same version (/usr/bin/python3.X), a small
*view* in hub_dir/python: a venv whose interpreter is the system one and
whose site-packages, share and etc are those of this environment (same
packages, same JupyterLab settings).
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path

from incubo.config import HubSettings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def usable_by_others(path: Path) -> bool:
    """Whether an account that is neither owner nor group can execute `path` (every parent traversable)."""
    real = Path(os.path.realpath(path))
    try:
        if not real.stat().st_mode & stat.S_IXOTH:
            return False
        return all(p.stat().st_mode & stat.S_IXOTH for p in real.parents)
    except OSError:
        return False


def _view(settings: HubSettings, system_python: Path) -> Path:
    """Create (or refresh) hub_dir/python: the system interpreter over this environment's packages."""
    view = settings.hub_dir / "python"
    site = Path(sys.prefix) / "lib" / VERSION / "site-packages"
    links = {
        view / "bin" / "python3": system_python,
        view / "bin" / "python": Path("python3"),
        view / "lib" / VERSION / "site-packages": site,
        view / "share": Path(sys.prefix) / "share",
        view / "etc": Path(sys.prefix) / "etc",
    }
    for link, target in links.items():
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() and os.readlink(link) == str(target):
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    (view / "pyvenv.cfg").write_text(
        f"home = {system_python.parent}\ninclude-system-site-packages = false\n"
        f"version = {sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}\n",
        encoding="utf-8",
    )
    for d in (view, view / "bin", view / "lib", view / "lib" / VERSION):
        d.chmod(0o755)
    log.warning(
        "learners' servers run %s over %s (hub Python not executable by them)", system_python, site
    )
    return view / "bin" / "python3"


def learner_python(settings: HubSettings) -> str:
    """The interpreter to start learners' servers and kernels with."""
    explicit = getattr(settings, "python", "")
    if explicit:
        return explicit
    own = Path(sys.prefix) / "bin" / "python3"
    if not own.exists():
        own = Path(sys.executable)
    if usable_by_others(own):
        return str(own)
    system_python = Path("/usr/bin") / VERSION
    site = Path(sys.prefix) / "lib" / VERSION / "site-packages"
    if sys.prefix != sys.base_prefix and usable_by_others(system_python) and usable_by_others(site):
        return str(_view(settings, system_python))
    raise IncuboError(
        f"L'interpréteur Python « {own} » n'est pas accessible aux comptes des apprenants : installez incubo "
        "dans un environnement lisible par tous (par exemple /opt/incubo) ou indiquez-en un avec INCUBO_HUB_PYTHON.",
        code="hub-python-inaccessible",
    )
