"""Deployment files: Z2JH values valid against the chart schema, hub config loads."""

from __future__ import annotations

import copy
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
