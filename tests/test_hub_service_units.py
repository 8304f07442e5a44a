"""Under systemd, the proxy and each room service are units of their own (`incubo.hub.service_units`).

No systemd runs here: the units are checked with `systemd-analyze verify`, and
the hub's configuration is loaded both ways (in a terminal: services it
starts; under `incubo-hub.service`: external services, the tokens their
units' environment files hold).
"""

from __future__ import annotations

import json
import os
import pwd
import shlex
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests
from harness import free_port, incubo, isolated_env, wait_for
from hub_support import room_accounts, start_hub, unique_name

from incubo.hub.service_units import SWITCH

ROOT = Path(__file__).resolve().parent.parent
LOAD = (
    "import json\n"
    "from traitlets.config.loader import PyFileConfigLoader\n"
    f"c = PyFileConfigLoader('jupyterhub_config.py', path={str(ROOT / 'hub')!r}).load_config()\n"
    "print(json.dumps({'services': c.JupyterHub.services,\n"
    "                  'proxy_starts': c.ConfigurableHTTPProxy.should_start}, default=str))\n"
)
SERVICES = {"ralph", "lrs", "tableau-de-bord", "solutions"}
#: The PATH systemd gives a service.
SYSTEMD_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

pytestmark = pytest.mark.slow


def room_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "cours").mkdir(exist_ok=True)
    env = isolated_env(tmp_path / "env")
    env.update(
        INCUBO_HUB_DIR=str(tmp_path / "hub"),
        INCUBO_COURSE_DIR=str(tmp_path / "cours"),
        INCUBO_DEMO_PASSWORD="x",
        **room_accounts(),
    )
    env.pop("INCUBO_SOUS_SYSTEMD", None)
    return env


def hub_config(env: dict[str, str]) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def env_file(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {k: json.loads(v) for k, v in pairs}  # KEY="value", escaped as JSON strings are


def test_units_of_the_proxy_and_each_service_pass_systemd_analyze_verify(tmp_path):
    env = room_env(tmp_path)
    result = incubo(
        "hub", "installer", "--course-dir", tmp_path / "cours", "--dossier-services", tmp_path / "units",
        env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    units = {p.name: p.read_text() for p in (tmp_path / "units").glob("incubo-*")}
    assert {f"incubo-{name}.service" for name in SERVICES | {"proxy", "hub"}} <= set(units)
    account = env["INCUBO_HUB_COMPTE_SERVICES"]
    for name in SERVICES | {"proxy"}:
        text = units[f"incubo-{name}.service"]
        assert f"User={account}\n" in text and "Restart=on-failure\n" in text, text
        assert ("PartOf=incubo-hub.service" in text) == (name != "proxy")  # labs outlive a restart
        envs = tmp_path / "units" / f"{name}.env"
        assert envs.stat().st_mode & 0o777 == 0o600 and envs.stat().st_uid == 0
    assert "Environment=INCUBO_SOUS_SYSTEMD=1\n" in units["incubo-hub.service"]
    assert "Wants=network-online.target incubo-proxy.service" in units["incubo-hub.service"]
    check = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(units)],
        capture_output=True, text=True, cwd=tmp_path / "units", timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def test_under_systemd_the_hub_declares_external_services_with_their_units_tokens(tmp_path):
    env = room_env(tmp_path)
    managed = {s["name"]: s for s in hub_config(env)["services"]}
    assert SERVICES <= set(managed)
    assert all("incubo.hub.lifeline" in " ".join(managed[n]["command"]) for n in SERVICES)
    result = incubo(
        "hub", "installer", "--course-dir", tmp_path / "cours", "--dossier-services", tmp_path / "units",
        env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    got = hub_config(dict(env, INCUBO_SOUS_SYSTEMD="1"))
    assert got["proxy_starts"] is False
    external = {s["name"]: s for s in got["services"]}
    assert "ralph" not in external  # only the gate talks to Ralph: nothing for the hub to know
    for name in SERVICES - {"ralph"}:
        service = external[name]
        assert "command" not in service and "environment" not in service, service
        unit_env = env_file(tmp_path / "units" / f"{name}.env")
        assert service["url"] == unit_env["JUPYTERHUB_SERVICE_URL"] == managed[name]["url"]
        assert service["api_token"] == unit_env["JUPYTERHUB_API_TOKEN"]
        assert unit_env["JUPYTERHUB_SERVICE_PREFIX"] == f"/services/{name}/"
    # the services the hub still starts itself (its own, the formgrader) are unchanged
    assert {n for n in managed if n not in SERVICES} == {n for n in external if n not in SERVICES}


class Units:
    """What systemd does with the room's units, by hand (no systemd here): `ExecStartPre=+` as
    root, `ExecStart` as `User=` (its groups, HOME) with only `EnvironmentFile=`, the pid recorded."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def spec(self, name: str) -> dict[str, str]:
        text = (self.folder / f"incubo-{name}.service").read_text(encoding="utf-8")
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def start(self, name: str) -> subprocess.Popen:
        spec = self.spec(name)
        env = dict(env_file(Path(spec["EnvironmentFile"])), PATH=SYSTEMD_PATH)
        if "ExecStartPre" in spec:  # makes the account, and what it owns
            pre = shlex.split(spec["ExecStartPre"].removeprefix("+"))
            subprocess.run(pre, env=env, check=True, timeout=120, capture_output=True)
        entry = pwd.getpwnam(spec["User"])
        env.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
        proc = subprocess.Popen(
            shlex.split(spec["ExecStart"]), env=env, cwd=spec["WorkingDirectory"],
            user=entry.pw_uid, group=entry.pw_gid,
            extra_groups=os.getgrouplist(entry.pw_name, entry.pw_gid),
            stdout=open(self.folder / f"{name}.log", "wb"), stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )  # fmt: skip
        if "ExecStartPost" in spec:  # the proxy's pid, where `incubo hub` looks for it
            target = spec["ExecStartPost"].rsplit("> ", 1)[1].rstrip("'")
            Path(target).write_text(f"{proc.pid}\n")
        return proc


def test_the_room_runs_from_its_units_proxy_and_services_outside_the_hub():
    trainer = unique_name("f")
    with start_hub(formateurs=[trainer], extra_env={SWITCH: "1"}, start=False) as hub:
        units = Units(hub.base / "units")
        result = incubo(
            "hub", "installer", "--course-dir", hub.course_dir, "--dossier-services", units.folder,
            env=hub.env, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        proxy = units.start("proxy")
        hub.start()  # waits for the proxy's unit, does not start one
        for name in ("ralph", "lrs", "tableau-de-bord", "solutions"):
            units.start(name)
        heartbeat = hub.url + "/services/lrs/__heartbeat__"
        wait_for(lambda: requests.get(heartbeat, timeout=5).status_code == 200, timeout=120,
                 what="the gate and Ralph, from their units")  # fmt: skip
        assert (
            psutil.Process(proxy.pid).uids().real
            == pwd.getpwnam(units.spec("proxy")["User"]).pw_uid
        )
        session = requests.Session()
        hub.login(session, trainer)
        page = session.get(hub.url + "/services/tableau-de-bord/", timeout=60)
        assert page.status_code == 200 and "tableau" in page.text.lower(), page.status_code
        for module in ("incubo.hub.lrs_gate", "incubo.hub.dashboard", "incubo.hub.solutions"):
            (only,) = processes(hub, module)  # the unit's: the hub started none of its own
            assert only.ppid() == os.getpid() and only.uids().real != 0


def processes(hub, module: str) -> list[psutil.Process]:
    """Every process running `module` for this hub folder."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        if module in " ".join(proc.info["cmdline"] or []):
            if (proc.info["environ"] or {}).get("INCUBO_HUB_DIR") == str(hub.hub_dir):
                found.append(proc)
    return found


def _fake_systemctl(folder: Path, code: int = 0) -> Path:
    """A `systemctl` that records its arguments (systemd does not run on this machine)."""
    log = folder / "systemctl.log"
    fake = folder / "bin" / "systemctl"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "Unit refusée" >&2\nexit {code}\n')
    fake.chmod(0o755)
    return log


@pytest.mark.parametrize("fails", [False, True])
def test_end_of_day_under_systemd_stops_the_rooms_units(tmp_path, monkeypatch, capsys, fails):
    """`incubo hub arreter` on a room installed as units stops the units (hub, its services, proxy):
    a signal to the hub would leave the services' units and the proxy's running."""
    from incubo.config import hub_settings
    from incubo.errors import IncuboError
    from incubo.hub import local, room, units

    log = _fake_systemctl(tmp_path, code=1 if fails else 0)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "incubo-hub.service").write_text("[Service]\n")
    monkeypatch.setattr(units, "UNIT_DIR", tmp_path / "units")
    monkeypatch.setattr(units, "_systemd_running", lambda: True)
    signalled = []
    monkeypatch.setattr(local, "stop_proxy", lambda settings: signalled.append("proxy"))
    settings = hub_settings(
        {"INCUBO_HUB_DIR": str(tmp_path / "hub"), "INCUBO_HUB_API_PORT": str(free_port())}
    )
    settings.hub_dir.mkdir()
    settings.service_token_file.write_text("jeton")  # a room that ran (its hub is down now)
    if fails:
        with pytest.raises(IncuboError, match="systemctl stop incubo-hub.service incubo-proxy"):
            room.stop_all(settings)
    else:
        assert room.stop_all(settings) == 0
        said = capsys.readouterr()
        assert "services système" in said.out + said.err
    assert log.read_text().split() == ["stop", "incubo-hub.service", "incubo-proxy.service"]
    assert signalled == []  # the proxy is its unit's, not signalled by hand
