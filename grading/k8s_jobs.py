"""Region-wide grading as Kubernetes Jobs: one Job per batch of submissions.

Why Jobs: a region's thousands of submissions outgrow one grader, and a Job
is what Kubernetes retries, limits and cleans up. Each Job

- copies its batch (and the assignment's source, the course's nbgrader and
  limits files) from the shared ReadWriteMany volume into a private
  `emptyDir`, so Jobs never share a working copy or a lock, and student code
  never sees the shared volume;
- runs the same `incubo grade autograde` as on one machine: the same
  bubblewrap sandbox per kernel, the same limits (`incubo_grading.yml`);
- writes grades to the PostgreSQL gradebook (URL from a Secret: concurrent
  Jobs write different students' rows), then puts each learner's
  `autograded/<learner>/<assignment>` back on the volume by rename;
- is resumable: a learner already graded (same submission digest, recorded in
  the gradebook, result folder present) is skipped when a Pod is retried.

`manifests()` returns plain dicts (validated against Kubernetes' own schema
by the tests); `incubo grade k8s-jobs` writes them as one YAML file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

from incubo.grading.limits import load_limits

#: The Job's shell: paths come from the environment, learner ids are checked names.
SCRIPT = r"""set -eu
D="$TRAVAIL/cours"; S="$PARTAGE/cours"
mkdir -p "$D/source" "$D/submitted" "$D/autograded"
cp -a "$S/source/$DEVOIR" "$D/source/"
if [ -f "$S/nbgrader_config.py" ]; then cp "$S/nbgrader_config.py" "$D/"; fi
if [ -f "$S/incubo_grading.yml" ]; then cp "$S/incubo_grading.yml" "$D/"; fi
printf '\nimport os\nc.CourseDirectory.db_url = os.environ["GRADEBOOK_DB_URL"]\n' >> "$D/nbgrader_config.py"
for s in $ETUDIANTS; do
  mkdir -p "$D/submitted/$s" "$D/autograded/$s"
  cp -a "$S/submitted/$s/$DEVOIR" "$D/submitted/$s/"
  if [ -d "$S/autograded/$s/$DEVOIR" ]; then cp -a "$S/autograded/$s/$DEVOIR" "$D/autograded/$s/"; fi
done
incubo grade autograde "$DEVOIR" --workers "$WORKERS" --course-dir "$D"
for s in $ETUDIANTS; do
  if [ -d "$D/autograded/$s/$DEVOIR" ]; then
    mkdir -p "$S/autograded/$s"
    rm -rf "$S/autograded/$s/.$DEVOIR.nouveau"
    cp -a "$D/autograded/$s/$DEVOIR" "$S/autograded/$s/.$DEVOIR.nouveau"
    rm -rf "$S/autograded/$s/$DEVOIR"
    mv "$S/autograded/$s/.$DEVOIR.nouveau" "$S/autograded/$s/$DEVOIR"
  fi
done
"""

#: nbgrader student ids that are safe in a shell word and a Kubernetes label.
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class JobOptions:
    """What the region's operators choose (defaults match deploy/README.md)."""

    image: str = "registry.example.occitanie/incubo/correction:0.1.0"
    namespace: str = "incubo"
    batch: int = 25  # submissions per Job
    workers: int = 2  # kernels at once in one Job (= CPU limit)
    shared_claim: str = "incubo-partage"  # the ReadWriteMany volume: cours/ and exchange/
    gradebook_secret: str = "incubo-carnet"  # Secret holding the PostgreSQL URL (key `url`)


def submitted_students(course_dir: Path, assignment: str) -> list[str]:
    """Learners with a submission of `assignment` in the course directory, sorted."""
    return sorted(
        p.parent.name
        for p in (Path(course_dir) / "submitted").glob(f"*/{assignment}")
        if p.is_dir()
    )


def _name(text: str) -> str:
    """A DNS-1123 label fragment."""
    return re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:40] or "devoir"


def job(
    assignment: str, index: int, students: list[str], options: JobOptions, *, notebooks: int, limits
) -> dict:
    """One Job grading `students`' submissions of `assignment`."""
    waves = math.ceil(len(students) * max(notebooks, 1) / options.workers)
    deadline = int(waves * limits.notebook_timeout * 1.5) + 600
    memory_mi = options.workers * limits.memory_mib + 1024
    labels = {
        "app.kubernetes.io/name": "incubo-correction",
        "app.kubernetes.io/part-of": "incubo",
        "incubo.occitanie/devoir": _name(assignment),
    }
    container = _container(assignment, students, options, memory_mi)
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"incubo-correction-{_name(assignment)}-{index:03d}",
            "namespace": options.namespace,
            "labels": labels,
        },
        "spec": {
            "backoffLimit": 2,  # a retried Pod skips what is already graded
            "activeDeadlineSeconds": deadline,
            "ttlSecondsAfterFinished": 7 * 24 * 3600,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "partage",
                            "persistentVolumeClaim": {"claimName": options.shared_claim},
                        },
                        {"name": "travail", "emptyDir": {"sizeLimit": "3Gi"}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "512Mi"}},
                    ],
                },
            },
        },
    }


def _container(assignment: str, students: list[str], options: JobOptions, memory_mi: int) -> dict:
    """The grading container: the script, its environment, resources, privileges and mounts."""
    env = [
        {"name": "DEVOIR", "value": assignment},
        {"name": "ETUDIANTS", "value": " ".join(students)},
        {"name": "WORKERS", "value": str(options.workers)},
        {"name": "PARTAGE", "value": "/partage"},
        {"name": "TRAVAIL", "value": "/travail"},
        {"name": "LANG", "value": "fr_FR.UTF-8"},
        {
            "name": "GRADEBOOK_DB_URL",
            "valueFrom": {"secretKeyRef": {"name": options.gradebook_secret, "key": "url"}},
        },
    ]
    container = {
        "name": "correction",
        "image": options.image,
        "command": ["/bin/sh", "-c", SCRIPT],
        "env": env,
        "resources": {
            "requests": {"cpu": "1", "memory": f"{memory_mi}Mi", "ephemeral-storage": "2Gi"},
            "limits": {
                "cpu": str(options.workers),
                "memory": f"{memory_mi}Mi",
                "ephemeral-storage": "4Gi",
            },
        },
        # bubblewrap needs to create namespaces, and kernels run as per-submission users (root sets them)
        "securityContext": {
            "runAsUser": 0,
            "allowPrivilegeEscalation": True,
            "capabilities": {
                "drop": ["ALL"],
                "add": ["SYS_ADMIN", "SETUID", "SETGID", "CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL"],
            },
            "seccompProfile": {"type": "Unconfined"},
            "appArmorProfile": {"type": "Unconfined"},
        },
        "volumeMounts": [
            {"name": "partage", "mountPath": "/partage/cours", "subPath": "cours"},
            {"name": "travail", "mountPath": "/travail"},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    return container


def network_policy(options: JobOptions) -> dict:
    """Grading Pods talk to PostgreSQL and DNS only (kernels have no network at all: bubblewrap)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "incubo-correction", "namespace": options.namespace},
        "spec": {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "incubo-correction"}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [],
            "egress": [
                {"ports": [{"protocol": "TCP", "port": 5432}]},
                {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            ],
        },
    }


def manifests(course_dir: Path, assignment: str, options: JobOptions | None = None) -> list[dict]:
    """The NetworkPolicy, then one Job per batch of the submissions found in `course_dir`."""
    from incubo.errors import IncuboError

    options = options or JobOptions()
    if options.batch < 1 or options.workers < 1:
        raise IncuboError(
            "--par et --workers doivent être des nombres entiers positifs.", code="option-invalide"
        )
    students = submitted_students(course_dir, assignment)
    if not students:
        raise IncuboError(
            f"Aucune copie du devoir « {assignment} » dans {Path(course_dir) / 'submitted'} : "
            "ramassez d'abord les copies.",
            code="aucune-copie",
        )
    bad = [s for s in students if not SAFE_ID.match(s)]
    if bad:
        raise IncuboError(
            f"Identifiants d'apprenants inutilisables dans un Job Kubernetes : {', '.join(bad[:5])}.",
            code="identifiant-invalide",
        )
    limits = load_limits(Path(course_dir))
    notebooks = len(list((Path(course_dir) / "source" / assignment).glob("*.ipynb")))
    batches = [students[i : i + options.batch] for i in range(0, len(students), options.batch)]
    jobs = [
        job(assignment, n, b, options, notebooks=notebooks, limits=limits)
        for n, b in enumerate(batches, 1)
    ]
    return [network_policy(options), *jobs]
