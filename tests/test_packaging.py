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


@pytest.mark.slow
def test_pip_install_in_a_fresh_venv(wheel, tmp_path):
    """`pip install .` in a fresh virtual environment, then the three parts import."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
        check=True,
        timeout=900,
    )
    subprocess.run(
        [py, "-c", "import incubo.widgets, incubo.grading, incubo.reports, incubo.apps.tabular_io"],
        check=True,
        cwd=tmp_path,
    )
    probe = "import importlib.util as u; print([m for m in ('widgets','grading','reports','apps','hub') if u.find_spec(m)])"
    out = subprocess.run(
        [py, "-c", probe], check=True, cwd=tmp_path, capture_output=True, text=True
    ).stdout
    assert out.strip() == "[]", f"modules de premier niveau installés : {out}"
