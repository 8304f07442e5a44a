"""Deployment files: Z2JH values valid against the chart schema, hub config loads."""

from __future__ import annotations

import copy
import shutil
import subprocess
import sys
import uuid

import jsonschema
import pytest
import yaml
from harness import ROOT

Z2JH = (
    ROOT / "deploy" / "z2jh" / "chart"
)  # vendored chart schema and defaults (BSD-3, see its LICENSE)


def merged(base: dict, override: dict) -> dict:
    """Helm's merge of user values over the chart's defaults."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def test_z2jh_values_match_the_chart_schema():
    schema = yaml.safe_load((Z2JH / "values.schema.yaml").read_text())
    defaults = yaml.safe_load((Z2JH / "values.yaml").read_text())
    ours = yaml.safe_load((ROOT / "deploy" / "z2jh" / "values.yaml").read_text())
    jsonschema.validate(merged(defaults, ours), schema)
    # the schema is a real check: a misspelt key of ours is refused
    with pytest.raises(jsonschema.ValidationError, match="hubb"):
        jsonschema.validate(merged(defaults, {**ours, "hubb": {}}), schema)


@pytest.mark.parametrize("auth", ["demo", "proconnect"])
def test_vm_hub_config_loads(auth, tmp_path):
    """deploy/vm is a thin wrapper over incubo.hub.config.configure (the same as `incubo hub`).

    Loading the configuration creates no Unix group or account (issue 18, point 8: they are made
    when the hub starts); the names are unique to this run, so a machine that already has the
    default ones proves nothing either way."""
    tag = uuid.uuid4().hex[:8]
    names = {
        "INCUBO_HUB_COMPTE_CORRECTEUR": f"tcorr{tag}",
        "INCUBO_HUB_COMPTE_SERVICES": f"tserv{tag}",
        "INCUBO_HUB_GROUPE_FORMATEURS": f"tform{tag}",
    }
    env = {
        **names,
        "INCUBO_HUB_AUTH": auth,
        "INCUBO_DEMO_PASSWORD": "mot-de-passe-de-la-salle",
        "INCUBO_HUB_DIR": str(tmp_path / "hub"),
        "INCUBO_COURSE_DIR": str(tmp_path / "cours"),
        "PROCONNECT_ISSUER": "https://proconnect.example/api/v2",
        "PROCONNECT_CLIENT_ID": "id",
        "PROCONNECT_CLIENT_SECRET": "secret",
        "PROCONNECT_CALLBACK_URL": "https://hub.example/hub/oauth_callback",
    }
    code = (
        "from traitlets.config.loader import PyFileConfigLoader as L;"
        f"c = L('jupyterhub_config.py', path={str(ROOT / 'deploy' / 'vm')!r}).load_config();"
        "print(c.JupyterHub.authenticator_class.__name__, c.JupyterHub.spawner_class.__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env={**env, "PATH": ""}, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    authenticator = "ProConnectAuthenticator" if auth == "proconnect" else "DemoAuthenticator"
    assert out.stdout.split() == [authenticator, "IncuboSpawner"]
    for name in names.values():
        for database in ("group", "passwd"):
            found = subprocess.run(["getent", database, name], capture_output=True)
            assert found.returncode == 2, f"{database} {name} created by loading the configuration"


def test_tljh_purge_units_verify_and_purge_the_hub_folder_tljh_uses(tmp_path):
    """deploy/vm's nightly purge (RGPD retention) on a TLJH VM: units systemd accepts, and the hub
    folder the TLJH plugin gives the hub (without it, the purge looked in /srv/incubo/hub and left
    Ralph's data and the learners' journals untouched)."""
    plugin = (ROOT / "deploy" / "tljh" / "tljh_incubo.py").read_text(encoding="utf-8")
    hub_dir = plugin.split('os.environ.setdefault("INCUBO_HUB_DIR", "', 1)[1].split('"', 1)[0]
    service = (ROOT / "deploy" / "vm" / "incubo-purge.service").read_text(encoding="utf-8")
    assert f"Environment=INCUBO_HUB_DIR={hub_dir}\n" in service
    assert service.index("Environment=INCUBO_HUB_DIR") < service.index("EnvironmentFile=")
    assert "ExecStart=/opt/tljh/hub/bin/incubo rgpd purger\n" in service
    # systemd-analyze wants the command to exist: the hub's incubo stands in for TLJH's
    (tmp_path / "incubo-purge.service").write_text(
        service.replace("/opt/tljh/hub/bin/incubo", str(ROOT / ".venv" / "bin" / "incubo"))
    )
    shutil.copy(ROOT / "deploy" / "vm" / "incubo-purge.timer", tmp_path)
    check = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", "incubo-purge.service", "incubo-purge.timer"],
        capture_output=True, text=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    assert "systemctl enable --now incubo-purge.timer" in readme
