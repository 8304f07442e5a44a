"""Attacks on the room, as a learner would try them: root's processes and the hub's files.

One real hub for the module (real Unix accounts, the services up, a learner's
server running). Each test names the attack and checks that it fails:

- no process that parses learners' requests runs as root (only the hub and `incubo hub`);
- from a learner's kernel and shell: the course directory, the hub's secrets, the LRS's
  secrets and data, the séance store are unreadable;
- the formgrader (a trainer's Jupyter server on the course) has no terminal, runs as the
  grader account, and its « Autograde » refuses with the incubo command to run;
- `incubo grade autograde` run as root without its sandbox refuses, in French.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests
from harness import BIN, assert_french_error, incubo, require_root, wait_for
from hub_support import make_course, shared_tmp, start_hub, unique_name


@pytest.fixture(autouse=True, scope="module")
def as_root():
    """These attacks need real Unix accounts: not being root fails them, never skips them."""
    require_root("Les attaques d'un apprenant sur les processus de root ne sont pas vérifiées")


#: What may run as root in a room: `incubo hub` (it supervises) and JupyterHub (accounts, spawns).
ROOT_ALLOWED = ("incubo hub", "jupyterhub -f")
#: Each process of the room that reads learners' requests or data, by a piece of its command line.
MODULE, MODULE_FIXTURE = "essai-01", Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
ROOM_PARTS = {
    "proxy": "configurable-http-proxy",
    "passerelle LRS": "incubo.hub.lrs_gate",
    "Ralph": "ralph_service.py",
    "tableau de bord": "incubo.hub.dashboard",
    "solutions": "incubo.hub.solutions",
    "formgrader": "jupyterhub.singleuser",
}


@pytest.fixture(scope="module")
def room():
    course = shared_tmp("incubo-cours-") / "cours"
    make_course(course)
    for side in ("source", "release"):  # a module of the build, exercises and all
        shutil.copytree(MODULE_FIXTURE, course / side / MODULE)
    trainer = unique_name("f")
    with start_hub(formateurs=[trainer], course_dir=course) as hub:
        hub.wait_running()
        wait_for(
            lambda: (
                requests.get(hub.url + "/services/lrs/__heartbeat__", timeout=5).status_code == 200
            ),
            timeout=120,
            what="Ralph behind the gate",
        )
        hub.trainer = trainer
        hub.learner = hub.lab(hub.new_user())
        yield hub
    subprocess.run(["rm", "-rf", str(course.parent)], check=False)


def _cmdline(proc: psutil.Process) -> str:
    try:
        return " ".join(proc.cmdline())
    except psutil.Error:
        return ""


def test_no_process_that_parses_learners_requests_runs_as_root(room):
    """Attack: a bug in the proxy, the gate, Ralph, a service or the formgrader would give root."""
    procs = room._room_processes(room.hub_users())
    seen = {}
    for p in procs:
        try:  # a short-lived process may end between the listing and here
            uids = p.uids()
        except psutil.Error:
            continue
        seen[p.pid] = (_cmdline(p), uids.real, uids.effective)
    as_root = [cmd for cmd, real, eff in seen.values() if 0 in (real, eff)]
    unexpected = [c for c in as_root if not any(mark in c for mark in ROOT_ALLOWED)]
    assert not unexpected, f"processus de la salle en root : {unexpected}"
    services = pwd.getpwnam(room.env["INCUBO_HUB_COMPTE_SERVICES"]).pw_uid
    grader = pwd.getpwnam(room.env["INCUBO_HUB_COMPTE_CORRECTEUR"]).pw_uid
    for part, mark in ROOM_PARTS.items():
        uids = {
            real
            for cmd, real, _ in seen.values()
            if mark in cmd and (part != "formgrader" or str(room.course_dir) in cmd)
        }
        expected = grader if part == "formgrader" else services
        assert uids == {expected}, (part, uids, expected)
    learner_uid = pwd.getpwnam(room.unix_user(room.learner.name)).pw_uid
    assert any(real == learner_uid for _, real, _ in seen.values())  # the learner's server is up


def test_a_learner_reads_neither_the_course_nor_the_hubs_secrets_nor_the_lrs(room):
    """Attack: from their kernel and their shell, a learner opens solutions, secrets, statements."""
    hub_dir = room.hub_dir
    targets = [
        room.course_dir / "source" / "m1" / "lecon.ipynb",
        room.course_dir / "gradebook.db",
        hub_dir / "cookie_secret",
        hub_dir / "proxy_token",
        hub_dir / "service_token",
        hub_dir / "jupyterhub.sqlite",
        hub_dir / "lrs" / "secret-passerelle",
        hub_dir / "lrs" / "mot-de-passe-ralph",
        hub_dir / "lrs" / "ralph" / "auth.json",
    ]
    folders = [room.course_dir, hub_dir / "lrs", hub_dir / "lrs" / "donnees", hub_dir / "seances"]
    code = f"""
import json, os, subprocess
files, folders, out = {json.dumps([str(p) for p in targets])}, {json.dumps([str(p) for p in folders])}, {{}}
for path in files:
    try:
        open(path, "rb").read(1)
        out[path] = "lu"
    except OSError as exc:
        out[path] = type(exc).__name__
    shell = subprocess.run(["cat", path], capture_output=True)
    out["cat " + path] = shell.returncode
for path in folders:
    try:
        os.listdir(path)
        out[path] = "listé"
    except OSError as exc:
        out[path] = type(exc).__name__
print(json.dumps(out))
"""
    result = room.learner.run(code)
    assert result["error"] is None, result
    seen = json.loads(result["stdout"].strip().splitlines()[-1])
    for path in targets + folders:
        assert seen[str(path)] == "PermissionError", (str(path), seen[str(path)])
    for path in targets:
        assert seen[f"cat {path}"] != 0, path


def test_roots_commands_on_the_hub_run_as_the_rooms_accounts(room):
    """Attack: root writing where a service writes (the exchange's outbound, the séance store)
    would follow what a compromised service planted there, and leave files the service can no
    longer replace; root parsing submissions would give their parser root's rights."""
    services = pwd.getpwnam(room.env["INCUBO_HUB_COMPTE_SERVICES"]).pw_uid
    grader = pwd.getpwnam(room.env["INCUBO_HUB_COMPTE_CORRECTEUR"]).pw_uid
    released = incubo("grade", "release", MODULE, "--course-dir", room.course_dir, env=room.env)
    assert released.returncode == 0, released.stderr
    module = room.hub_dir / "exchange" / "incubo" / "outbound" / MODULE
    assert {p.stat().st_uid for p in [module, *module.rglob("*")]} == {services}
    opened = incubo("seance", "ouvrir", MODULE, "--course-dir", room.course_dir, env=room.env)
    assert opened.returncode == 0, opened.stderr
    store = room.hub_dir / "seances"
    assert {p.stat().st_uid for p in store.glob("*.json")} == {services}
    code = next(p.stem for p in store.glob("*.json"))
    closed = incubo("seance", "fermer", code, "--course-dir", room.course_dir, env=room.env)
    assert closed.returncode == 0, closed.stderr
    collected = incubo("grade", "collect", MODULE, "--course-dir", room.course_dir, env=room.env)
    assert collected.returncode == 0, collected.stderr
    assert room.course_dir.stat().st_uid == grader
    assert {p.stat().st_uid for p in room.course_dir.rglob("*")} == {grader}


def _trainer_formgrader(room) -> requests.Session:
    """The trainer logged in, through the formgrader's OAuth, on the formgrader's page."""
    session = requests.Session()
    r = room.login(session, room.trainer)
    assert r.status_code == 302, (r.status_code, r.text[:300])
    page = session.get(f"{room.url}/services/incubo/formgrader", timeout=120)
    assert page.status_code == 200, (page.status_code, page.url)
    return session


def _post(session: requests.Session, url: str) -> requests.Response:
    xsrf = session.cookies.get("_xsrf", path="/services/incubo/") or session.cookies.get("_xsrf")
    return session.post(url, headers={"X-XSRFToken": xsrf or ""}, timeout=60)


def test_the_formgrader_opens_no_terminal_and_its_autograde_refuses(room):
    """Attack: the trainer's formgrader was a root Jupyter server (« Terminal »: uid=0) whose
    « Autograde » ran learners' code as root, out of any sandbox."""
    session = _trainer_formgrader(room)
    base = f"{room.url}/services/incubo"
    terminal = _post(session, f"{base}/api/terminals")
    assert terminal.status_code in (403, 404), (terminal.status_code, terminal.text[:300])
    listed = session.get(f"{base}/api/terminals", timeout=60)
    assert listed.status_code == 404
    autograde = _post(session, f"{base}/formgrader/api/submission/m1/{room.learner.name}/autograde")
    assert autograde.status_code == 403
    assert "incubo grade autograde" in autograde.json()["message"]
    assert "bac à sable" in autograde.json()["message"]


def test_autograde_as_root_without_its_sandbox_refuses(tmp_path):
    """Attack: a submission's code run as root when bubblewrap is missing or switched off."""
    course = tmp_path / "cours"
    make_course(course)
    (course / "incubo_grading.yml").write_text("isolation: false\n")
    switched_off = incubo("grade", "autograde", "m1", "--course-dir", course)
    assert_french_error(switched_off, "root", "bac à sable")
    (course / "incubo_grading.yml").unlink()
    missing = subprocess.run(  # bubblewrap absent: its path points nowhere
        [
            sys.executable,
            "-c",
            "import sys; import incubo.grading.sandbox as s; s.BWRAP = '/nonexistent/bwrap';"
            "from incubo.cli.main import main; sys.exit(main(sys.argv[1:]))",
            "grade",
            "autograde",
            "m1",
            "--course-dir",
            str(course),
        ],  # fmt: skip
        capture_output=True,
        text=True,
        env=dict(os.environ, PATH=f"{BIN}:/usr/bin:/bin"),
    )
    assert_french_error(missing, "root", "bubblewrap")


def test_on_the_hub_autograde_without_its_sandbox_refuses_too(room):
    """Attack: on the hub, autograde runs as the grader; without a sandbox a submission would get
    the grader's rights (every grade, every submission). Refused before anything runs."""
    limits = room.course_dir / "incubo_grading.yml"
    limits.write_text("isolation: false\n")
    try:
        refused = incubo(
            "grade", "autograde", MODULE, "--course-dir", room.course_dir, env=room.env
        )
    finally:
        limits.unlink()
    assert_french_error(refused, "sans bac à sable", room.env["INCUBO_HUB_COMPTE_CORRECTEUR"])
