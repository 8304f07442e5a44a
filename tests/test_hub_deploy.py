"""The room on a VM: the TLJH plugin applies the same configuration as `incubo hub`."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

from harness import ROOT

TLJH = ROOT / "deploy" / "tljh"
#: The hooks The Littlest JupyterHub declares (the-littlest-jupyterhub, tljh/hooks.py).
TLJH_HOOKS = {
    "tljh_extra_user_conda_packages",
    "tljh_extra_user_pip_packages",
    "tljh_extra_hub_pip_packages",
    "tljh_extra_apt_packages",
    "tljh_custom_jupyterhub_config",
    "tljh_config_post_install",
    "tljh_post_install",
    "tljh_new_user_create",
}


def test_tljh_plugin_is_declared_for_tljh():
    meta = tomllib.loads((TLJH / "pyproject.toml").read_text())
    assert meta["project"]["name"] == "tljh-incubo"
    assert meta["project"]["entry-points"]["tljh"] == {"incubo": "tljh_incubo"}


def test_tljh_plugin_configures_the_room(tmp_path):
    """Loaded the way TLJH loads plugins (pluggy, project "tljh"), over a config where TLJH set its own spawner command."""
    env_file = tmp_path / "hub.env"
    env_file.write_text(
        "# réglages de la salle\n"
        "INCUBO_HUB_AUTH=demo\n"
        "INCUBO_DEMO_PASSWORD='mot-de-passe-de-la-salle'\n"
        "INCUBO_HUB_FORMATEURS=claire.dupont,marc.martin\n"
        f"INCUBO_HUB_DIR={tmp_path / 'etat'}\n"
        f"INCUBO_COURSE_DIR={tmp_path / 'cours'}\n"
    )
    code = f"""
import json, sys, pluggy
from traitlets.config import Config
sys.path.insert(0, {str(TLJH)!r})
import tljh_incubo
pm = pluggy.PluginManager("tljh")
pm.register(tljh_incubo)
impls = sorted(h.name for h in pm.get_hookcallers(tljh_incubo))
c = Config()
c.Spawner.cmd = ["/opt/tljh/user/bin/jupyterhub-singleuser"]
pm.hook.tljh_custom_jupyterhub_config(c=c)
print(json.dumps({{
    "hooks": impls,
    "user": sum(pm.hook.tljh_extra_user_pip_packages(), []),
    "hub": sum(pm.hook.tljh_extra_hub_pip_packages(), []),
    "auth": c.JupyterHub.authenticator_class.__name__,
    "spawner": c.JupyterHub.spawner_class.__name__,
    "cmd": c.Spawner.cmd,
    "formateurs": c.DemoAuthenticator.formateurs,
    "cleanup": c.JupyterHub.cleanup_servers,
    "templates": c.JupyterHub.template_paths,
    "db": c.JupyterHub.db_url,
}}))
"""
    env = {"INCUBO_HUB_ENV_FILE": str(env_file), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert set(got["hooks"]) <= TLJH_HOOKS and "tljh_custom_jupyterhub_config" in got["hooks"]
    assert got["user"] == ["incubo"] and got["hub"] == ["incubo[hub]"]
    assert (got["auth"], got["spawner"]) == ("DemoAuthenticator", "IncuboSpawner")
    assert got["cmd"] == [
        "/opt/tljh/user/bin/jupyterhub-singleuser"
    ]  # TLJH's user environment is kept
    assert got["formateurs"] == ["claire.dupont", "marc.martin"]
    assert got["cleanup"] is False
    assert got["templates"] == [str(ROOT / "hub" / "templates")]
    assert got["db"] == f"sqlite:///{tmp_path / 'etat' / 'jupyterhub.sqlite'}"


def test_tljh_plugin_keeps_servers_across_hub_restarts(tmp_path):
    """Under systemd the servers are in the hub's cgroup: the drop-in stops a restart from killing them."""
    sys.path.insert(0, str(TLJH))
    try:
        import tljh_incubo
    finally:
        sys.path.remove(str(TLJH))
    path = tljh_incubo.write_systemd_dropin(tmp_path)
    assert path == tmp_path / "etc/systemd/system/jupyterhub.service.d/incubo.conf"
    assert "KillMode=process" in path.read_text().splitlines()
