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
from harness import ROOT, assert_french_error, incubo

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
