"""The distribution installs the one `incubo` namespace, and environment.yml mirrors pyproject."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import yaml
from harness import ROOT

CONDA_NAMES = {"duckdb": "python-duckdb", "matplotlib": "matplotlib-base"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower()


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_name(r) for r in project["dependencies"] + project["optional-dependencies"]["hub"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {_name(d) for d in env["dependencies"] if isinstance(d, str)}
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    have = conda | {_name(p) for p in pip}
    missing = {n for n in wanted if CONDA_NAMES.get(n, n) not in have}
    assert not missing, f"environment.yml ne reprend pas : {sorted(missing)}"
    assert "." in pip, "environment.yml doit installer le projet lui-même (pip: .)"
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
    )
    return next(out.glob("incubo-*.whl"))


def test_wheel_holds_only_the_incubo_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.startswith("incubo-") and ".data/" not in n}
    assert top == {"incubo"}, top
    for part in ("widgets", "grading", "reports", "apps", "hub"):
        assert f"incubo/{part}/__init__.py" in names
    assert any(n.endswith("share/jupyter/lab/settings/overrides.d/incubo.json") for n in names)
    # learners' servers: French error pages and the kernel with its French help links
    for name in ("templates/server/error.html", "templates/server/404.html", "kernel_aide.py"):
        assert f"incubo/hub/{name}" in names, name
    # incubo's lab extension, prebuilt (installing incubo needs no Node), and its server side
    labext = ROOT / "incubo" / "share" / "labextensions" / "@incubo" / "labextension"
    for path in labext.rglob("*"):
        if path.is_file():
            assert f"incubo/{path.relative_to(ROOT / 'incubo').as_posix()}" in names, path
    assert "incubo/hub/jupyter-config/jupyter_server_config.d/incubo-mes-modules.json" in names


@pytest.mark.slow
def test_pip_install_in_a_fresh_venv(wheel, tmp_path):
    """The built wheel, installed (not editable) in a fresh virtual environment: the parts import.

    What is checked here: the wheel's contents are enough to import the three parts
    from an ordinary install, away from the source tree, and only the `incubo`
    namespace is installed. The dependencies are not downloaded again: `make install`
    (run by CI before the tests) already resolves and installs every dependency of
    pyproject from the index into `.venv`, with the same metadata the wheel carries.
    The fresh environment sees `.venv`'s packages through a `.pth` path line: a plain
    path line does not run `.venv`'s own `.pth` files, so the project's editable
    finder stays inactive there, and `pip check` proves the wheel's declared
    dependencies are met by what is visible.
    """
    import sysconfig

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    deps = sysconfig.get_path("purelib")  # the project's .venv, installed by `make install`
    (site / "zz_dependencies.pth").write_text(deps + "\n")
    pip = [sys.executable, "-m", "pip", "--python", str(py), "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True)
    check = subprocess.run([*pip, "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    where = subprocess.run(
        [
            py,
            "-c",
            "import incubo.widgets, incubo.grading, incubo.reports, incubo.apps.tabular_io, sys;"
            "print(incubo.grading.__file__); print([m for m in sys.modules if 'editable' in m])",
        ],
        check=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    assert where[0].startswith(str(site)), f"incubo importé hors de l'installation : {where[0]}"
    assert where[1] == "[]", "le chercheur de l'installation éditable du projet est actif"
    probe = "import importlib.util as u; print([m for m in ('widgets','grading','reports','apps','hub') if u.find_spec(m)])"
    out = subprocess.run(
        [py, "-c", probe], check=True, cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]", f"modules de premier niveau installés : {out}"
