"""The region on Kubernetes, validated offline: Z2JH values, grading Jobs, the other manifests.

Values are checked against the Zero to JupyterHub schema vendored in the
repository (deploy/z2jh/chart); every Kubernetes object against Kubernetes'
own schema (`kubernetes-validate`, strict: unknown fields are errors).
"""

from __future__ import annotations

import copy
import os
import stat

import jsonschema
import kubernetes_validate
import pytest
import yaml
from harness import BIN, ROOT, assert_french_error, incubo

K8S_VERSION = "1.37.0"
CHART = ROOT / "deploy" / "z2jh" / "chart"
VALUES = ROOT / "deploy" / "z2jh" / "values.yaml"


def merged(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = (
            merged(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def validate(doc: dict) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.fixture(scope="module")
def values() -> dict:
    ours = yaml.safe_load(VALUES.read_text(encoding="utf-8"))
    schema = yaml.safe_load((CHART / "values.schema.yaml").read_text(encoding="utf-8"))
    defaults = yaml.safe_load((CHART / "values.yaml").read_text(encoding="utf-8"))
    jsonschema.validate(merged(defaults, ours), schema)
    return ours


def test_values_reuse_the_room_configuration_with_proconnect_and_postgresql(values):
    hub = values["hub"]
    code = "\n".join(hub["extraConfig"].values())
    assert "from incubo.hub.config import configure" in code and "configure(c)" in code
    compile(code, "extraConfig", "exec")
    env = hub["extraEnv"]
    assert env["INCUBO_HUB_AUTH"] == "proconnect" and env["PROCONNECT_ISSUER"].endswith("/api/v2")
    assert hub["db"]["type"] == "postgres" and env["INCUBO_HUB_DB_URL"] == hub["db"]["url"]
    # secrets only by reference
    for name in ("PROCONNECT_CLIENT_ID", "PROCONNECT_CLIENT_SECRET", "PGPASSWORD"):
        assert set(env[name]) == {"valueFrom"}
    assert ":" not in hub["db"]["url"].split("@")[0].split("//")[1], (
        "no password in the database URL"
    )


def test_each_learner_pod_mounts_only_its_own_exchange_folders(values):
    mounts = values["singleuser"]["storage"]["extraVolumeMounts"]
    by_path = {m["mountPath"].rsplit("/", 1)[1]: m for m in mounts}
    assert by_path["outbound"]["readOnly"] is True
    assert by_path["inbound"]["subPath"].endswith("/inbound/{username}")
    assert (
        by_path["feedback"]["subPath"].endswith("/feedback/{username}")
        and by_path["feedback"]["readOnly"]
    )
    assert all("{username}" in m["subPath"] or m.get("readOnly") for m in mounts)
    assert values["singleuser"]["networkPolicy"]["egressAllowRules"]["nonPrivateIPs"] is False


def test_hub_prepares_the_exchange_folders_private_to_each_learner(tmp_path):
    from incubo.hub.region import learner_dirs, prepare_exchange

    for name in ("alice", "bob"):
        prepare_exchange(tmp_path, "incubo", name)
        prepare_exchange(tmp_path, "incubo", name)  # idempotent
    for path in learner_dirs(tmp_path, "incubo", "alice"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o711
    assert (tmp_path / "incubo" / "outbound").is_dir()
    with pytest.raises(ValueError):
        prepare_exchange(tmp_path, "incubo", "../bob")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "deploy" / "k8s").glob("*.yaml")), ids=lambda p: p.name
)
def test_kubernetes_manifests_are_valid(path):
    docs = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
    assert docs
    for doc in docs:
        validate(doc)


def fake_course(root, students: list[str]):
    course = root / "cours"
    (course / "source" / "ps1").mkdir(parents=True)
    for nb in ("problem1", "problem2"):
        (course / "source" / "ps1" / f"{nb}.ipynb").write_text("{}")
    for s in students:
        (course / "submitted" / s / "ps1").mkdir(parents=True)
    return course


def test_grading_jobs_one_per_batch_with_limits_and_the_sandbox(tmp_path):
    students = [f"agent-{i:02d}" for i in range(7)]
    course = fake_course(tmp_path, students)
    (course / "incubo_grading.yml").write_text("temps_par_notebook: 100\nmemoire_mo: 512\n")
    out = tmp_path / "jobs.yaml"
    done = incubo("grade", "k8s-jobs", "ps1", "--par", "3", "--course-dir", course, "-o", out)
    assert done.returncode == 0, done.stderr
    assert "3 Job(s)" in done.stderr and "kubectl apply" in done.stderr
    docs = list(yaml.safe_load_all(out.read_text(encoding="utf-8")))
    for doc in docs:
        validate(doc)
    broken = copy.deepcopy(docs[1])
    broken["spec"]["template"]["spec"]["containers"][0]["limitz"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):  # the schema is a real check
        validate(broken)
    jobs = [d for d in docs if d["kind"] == "Job"]
    assert [d["kind"] for d in docs].count("NetworkPolicy") == 1
    batches = [
        dict(
            (e["name"], e.get("value"))
            for e in j["spec"]["template"]["spec"]["containers"][0]["env"]
        )["ETUDIANTS"].split()
        for j in jobs
    ]
    assert [len(b) for b in batches] == [3, 3, 1] and sorted(sum(batches, [])) == students
    for j in jobs:
        pod = j["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["resources"]["limits"]["memory"] == f"{2 * 512 + 1024}Mi"
        assert j["spec"]["activeDeadlineSeconds"] >= 100
        assert pod["automountServiceAccountToken"] is False
        assert "incubo grade autograde" in container["command"][-1]
        assert {
            "name": "GRADEBOOK_DB_URL",
            "valueFrom": {"secretKeyRef": {"name": "incubo-carnet", "key": "url"}},
        } in container["env"]
        assert len({j["metadata"]["name"] for j in jobs}) == len(jobs)


def test_grading_jobs_without_submissions_is_a_french_error(tmp_path):
    course = fake_course(tmp_path, [])
    assert_french_error(
        incubo("grade", "k8s-jobs", "ps1", "--course-dir", course), "Aucune copie", "ps1"
    )
    odd = fake_course(tmp_path / "b", ["élève un"])
    assert_french_error(incubo("grade", "k8s-jobs", "ps1", "--course-dir", odd), "Identifiants")
    assert os.listdir(tmp_path)  # nothing written elsewhere


POD_SCRIPT = r"""
import json, os, subprocess, sys
ex = "/srv/nbgrader/exchange"
nbg = [sys.executable, "-m", "nbgrader"]
args = ["--course", "incubo", f"--Exchange.root={ex}"]
out = {}
os.chdir(os.environ["HOME"])
out["fetch"] = subprocess.run(nbg + ["fetch_assignment", "ps1", *args], capture_output=True, text=True).returncode
out["fetched"] = sorted(os.listdir("ps1"))
out["submit"] = subprocess.run(nbg + ["submit", "ps1", *args], capture_output=True, text=True)
out["submit"] = [out["submit"].returncode, out["submit"].stderr[-1500:]]
pretend = dict(os.environ, JUPYTERHUB_USER="bob")  # a learner claiming to be bob
out["forged"] = subprocess.run(nbg + ["submit", "ps1", *args], env=pretend, capture_output=True).returncode
out["course_dir"] = sorted(os.listdir(f"{ex}/incubo"))
out["inbound"] = sorted(os.listdir(f"{ex}/incubo/inbound"))
seen = []
for root, dirs, files in os.walk("/srv"):
    seen += [os.path.join(root, f) for f in files]
out["seen"] = seen
out["bob_text"] = any("secret-de-bob" in open(p, errors="replace").read() for p in seen)
for target in (f"{ex}/incubo/outbound/ps1/vol.txt", f"{ex}/incubo/feedback/vol.txt", f"{ex}/incubo/inbound/../bob"):
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").write("x")
        out.setdefault("written", []).append(target)
    except OSError as exc:
        out.setdefault("refused", []).append(type(exc).__name__)
print(json.dumps(out))
"""


def test_a_learner_pod_sees_and_writes_only_its_own_exchange_folders(tmp_path, values):
    """The pod's mounts, as the kubelet makes them from values.yaml, with stock nbgrader inside."""
    import json
    import shutil
    import subprocess

    import nbformat

    from incubo.hub.region import prepare_exchange

    volume = tmp_path / "volume"
    for name in ("alice", "bob"):
        prepare_exchange(volume / "exchange", "incubo", name)
    release = volume / "exchange" / "incubo" / "outbound" / "ps1"
    release.mkdir(parents=True)
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]),
        release / "devoir.ipynb",
    )
    bob = (
        volume
        / "exchange"
        / "incubo"
        / "inbound"
        / "bob"
        / "bob+ps1+2026-01-05 10:00:00.000000 UTC+abc"
    )
    bob.mkdir()
    (bob / "devoir.ipynb").write_text("secret-de-bob")
    (volume / "exchange" / "incubo" / "feedback" / "bob" / "retour.html").write_text(
        "secret-de-bob"
    )

    # the single-user image's accounts: every learner is jovyan (uid 1000). A copy of /etc, not a
    # bind over /etc/passwd alone: the host's useradd replaces that file, which detaches such a mount
    etc = tmp_path / "etc"
    try:
        shutil.copytree("/etc", etc, symlinks=True)
    except shutil.Error:
        pass  # a few unreadable or special files: not needed here
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\njovyan:x:1000:100::/home/jovyan:/bin/sh\n"
    )
    mounts = []
    for m in values["singleuser"]["storage"]["extraVolumeMounts"]:
        src = volume / m["subPath"].format(username="alice")
        mounts += ["--ro-bind" if m.get("readOnly") else "--bind", str(src), m["mountPath"]]
    cmd = [
        shutil.which("bwrap") or "/usr/bin/bwrap", "--unshare-user", "--uid", "1000", "--gid", "100",
        "--unshare-pid", "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "--tmpfs", "/tmp",
        # a checkout (and its venv) under /tmp, as in CI, stays visible under the pod's empty /tmp
        "--ro-bind", str(ROOT), str(ROOT),
        "--tmpfs", "/srv", "--tmpfs", "/home", "--dir", "/home/jovyan", "--proc", "/proc", "--dev", "/dev",
        "--ro-bind", str(etc), "/etc", *mounts, "--", str(BIN / "python"), "-c", POD_SCRIPT,
    ]  # fmt: skip
    env = {
        "HOME": "/home/jovyan",
        "JUPYTERHUB_USER": "alice",  # KubeSpawner sets it; nbgrader names jovyan's submissions with it
        "PATH": os.environ["PATH"],
        "LANG": "C.UTF-8",
    }
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["fetch"] == 0 and out["fetched"] == ["devoir.ipynb"], out
    assert out["submit"][0] == 0, out["submit"]
    # the learner's pod sees the released module and its own folders, nothing of bob's
    assert out["course_dir"] == ["feedback", "inbound", "outbound"]
    assert all(p.startswith("/srv/nbgrader/exchange/incubo/") for p in out["seen"])
    bobs_files = [p for p in out["seen"] if p.endswith("retour.html") or "2026-01-05" in p]
    assert not out["bob_text"] and not bobs_files, out["seen"]
    # read-only mounts refuse writes; a path escaping its folder only reaches the pod's own disk
    assert (
        out["written"] == ["/srv/nbgrader/exchange/incubo/inbound/../bob"]
        and len(out["refused"]) == 2
    ), out
    on_volume = sorted(
        p.relative_to(volume).as_posix() for p in (volume / "exchange" / "incubo").iterdir()
    )
    assert on_volume == [
        "exchange/incubo/feedback",
        "exchange/incubo/inbound",
        "exchange/incubo/outbound",
    ]
    assert sorted(p.name for p in (volume / "exchange" / "incubo" / "inbound").iterdir()) == [
        "alice",
        "bob",
    ]
    # the submission reached alice's folder on the shared volume, where the trainer collects it
    mine = list(
        (volume / "exchange" / "incubo" / "inbound" / "alice").glob("alice+ps1+*/devoir.ipynb")
    )
    assert len(mine) == 1, " ".join(p.relative_to(volume).as_posix() for p in volume.rglob("*"))
    # whatever name a learner's pod claims, its submissions can only land in its own folder:
    # the folder, not the file name, says who submitted (the trainer's collect relies on it)
    assert out["forged"] == 0
    assert len(list((volume / "exchange" / "incubo" / "inbound" / "alice").glob("bob+ps1+*"))) == 1
    assert [p.name for p in (volume / "exchange" / "incubo" / "inbound" / "bob").iterdir()] == [
        bob.name
    ]
    assert (bob / "devoir.ipynb").read_text() == "secret-de-bob"
