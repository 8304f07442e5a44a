"""Room attacks through files, tried as a hostile learner would, on a real hub with real accounts.

Each test names its attack; each checks that it fails and that nothing
changed on disk outside the attacker's own folders:

- a link swapped in for feedback's temporary file (root would chmod any file);
- a submission whose files and sub-folders are links to others' files;
- `timestamp.txt` as a link to /dev/zero and as a FIFO (collect would hang or eat memory);
- an oversized file in a submission;
- the solutions service asked for a module not released yet;
- a séance's optional notebook read from the exchange, or asked for, before it is earned;
- from the learner's kernel: the checkout's course sources, and a search of the
  learner's whole Python environment and of the checkout for a known solution.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from harness import ROOT, incubo, require_root, wait_for
from hub_support import shared_tmp, start_hub, unique_name

FIXTURE = Path(__file__).parent / "fixtures" / "widgets" / "module-essai"
MODULE = "essai-01"
#: In the course's source only: never released during these tests.
HIDDEN = "essai-02"
NOTEBOOK = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
#: The séance's optional notebook (`optionnel: true`): only for a learner who finished early.
OPTIONAL_NOTEBOOK = json.dumps({
    "cells": [{"cell_type": "markdown", "id": "t", "metadata": {}, "source": "# Bonus gagné"}],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
})  # fmt: skip
#: A line of a solution of the checkout's course `premiers-pas` (courses/premiers-pas/02-exercices.md).
KNOWN_SOLUTION = "heures_semaine = heures_par_jour * 5"
PYTHON = "/usr/bin/python3"  # what a learner's own script runs with


@pytest.fixture(autouse=True, scope="module")
def as_root():
    """These attacks need real Unix accounts: not being root fails them, never skips them."""
    require_root("Les attaques d'un apprenant sur les fichiers de la salle ne sont pas vérifiées")


def make_course(course_dir: Path) -> None:
    """MODULE in source and release; HIDDEN in source only (a module not released yet)."""
    for side, module in (("source", MODULE), ("release", MODULE), ("source", HIDDEN)):
        folder = course_dir / side / module
        shutil.copytree(FIXTURE, folder)
        (folder / "02-exercices.ipynb").write_text(NOTEBOOK)
        data = json.loads((folder / "incubo_exercices.json").read_text())
        data["module"] = module
        data["notebooks"]["03-plus-loin"] = {
            "type": "exercices",
            "titre": "Plus loin",
            "optionnel": True,
        }
        (folder / "incubo_exercices.json").write_text(json.dumps(data))
        (folder / "03-plus-loin.ipynb").write_text(OPTIONAL_NOTEBOOK)
    (course_dir / "gradebook.db").write_bytes(b"")
    (course_dir / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "incubo"\n'
    )


@pytest.fixture(scope="module")
def room():
    course = shared_tmp("incubo-cours-") / "cours"
    make_course(course)
    with start_hub(course_dir=course) as hub:
        released = incubo("grade", "release", MODULE, "--course-dir", course, env=hub.env)
        assert released.returncode == 0, released.stderr
        hub.a, hub.b = hub.labs(unique_name("a"), unique_name("a"))
        try:
            yield hub
        finally:
            shutil.rmtree(course.parent, ignore_errors=True)


def as_learner(room, lab, script: str, *args: str, wait: bool = True, timeout: float = 120):
    """`python3 -c script args` with the learner's uid, gid and groups, from their home."""
    unix = room.unix_user(lab.name)
    home = room.home_base / unix
    cmd = ["setpriv", f"--reuid={unix}", f"--regid={unix}", "--init-groups", "--"]
    cmd += [PYTHON, "-c", script, *args]
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    if not wait:
        return subprocess.Popen(cmd, env=env, cwd=home, stdout=subprocess.PIPE, text=True)
    proc = subprocess.run(cmd, env=env, cwd=home, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def snapshot(*paths: Path) -> dict[str, tuple]:
    """Mode, owner and content digest of files that must not change."""
    import hashlib

    out = {}
    for p in paths:
        st = os.lstat(p)
        digest = hashlib.sha256(p.read_bytes()).hexdigest() if stat.S_ISREG(st.st_mode) else ""
        out[str(p)] = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, digest)
    return out


def layout(room):
    from incubo.exchange import ExchangeLayout

    return ExchangeLayout(room.hub_dir / "exchange", "incubo")


def test_attack_feedback_temp_file_swapped_for_a_link_changes_nothing_outside(room):
    """Attack: while root releases feedback into A's own folder, A swaps every temporary file
    for a link to the hub's cookie secret (root would then chmod 0644 it: every session readable)."""
    from incubo.grading.exchange_ops import release_feedback

    a = room.a
    secret = room.hub_dir / "cookie_secret"
    root_only = room.base / "fichier-de-root"
    root_only.write_text("à root seul")
    root_only.chmod(0o600)
    victims = [secret, root_only]
    before = snapshot(*victims)
    # what autograde and `incubo grade feedback` leave for A: a submission secret and a page
    (room.course_dir / "submitted" / a.name / MODULE).mkdir(parents=True, exist_ok=True)
    (room.course_dir / "submitted" / a.name / MODULE / "submission_secret.txt").write_text("s3cret")
    (room.course_dir / "feedback" / a.name / MODULE).mkdir(parents=True, exist_ok=True)
    # a page with its figures inlined is a few megabytes: root's write leaves A time to swap
    page = "<p>Bravo</p><!--" + "x" * 5_000_000 + "-->"
    (room.course_dir / "feedback" / a.name / MODULE / "02-exercices.html").write_text(page)
    owner = room.course_dir.stat()  # as the grader account that owns the course leaves them
    for side in ("submitted", "feedback"):
        for path in [room.course_dir / side, *(room.course_dir / side).rglob("*")]:
            os.chown(path, owner.st_uid, owner.st_gid)
    folder = layout(room).feedback_of(a.name)
    swapper = as_learner(
        room, a,
        "import os, sys, time\n"
        "folder, n = sys.argv[1], 0\n"
        "print('pret', flush=True)\n"
        "end = time.monotonic() + 20\n"
        "while time.monotonic() < end:\n"
        "    for name in os.listdir(folder):\n"
        "        if name.startswith('.tmp-'):\n"
        "            p = os.path.join(folder, name)\n"
        "            n += 1\n"
        "            target = sys.argv[2 + n % 2]  # the hub's cookie secret, a root-only file\n"
        "            try:\n"
        "                os.symlink(target, os.path.join(folder, 'lien'))\n"
        "                os.rename(os.path.join(folder, 'lien'), p)  # one step: the temporary file is a link\n"
        "                print('lien', flush=True)\n"
        "            except OSError:\n"
        "                pass\n",
        str(folder), str(secret), str(root_only), wait=False,
    )  # fmt: skip
    try:
        assert swapper.stdout.readline().strip() == "pret"
        for _ in range(50):  # the path-based chmod of before fell at the first one
            release_feedback(room.course_dir, layout(room), MODULE, student=a.name)
            assert snapshot(*victims) == before, "root changed a file outside the learner's folder"
    finally:
        swapper.kill()
        swapped = swapper.communicate()[0]
    assert "lien" in swapped, "the attack never swapped a temporary file: it was not tried"
    assert snapshot(*victims) == before, "root changed a file outside the learner's folder"
    release_feedback(room.course_dir, layout(room), MODULE, student=a.name)
    pages = [p for p in folder.iterdir() if p.suffix == ".html"]
    assert pages and not pages[0].is_symlink() and pages[0].read_text() == page  # A's feedback


def test_attack_links_fifo_dev_zero_and_huge_file_in_submissions(room):
    """Attack: A hands in links (a sub-folder to B's home, a file to the hub's secret, timestamp.txt
    to /dev/zero); B hands in timestamp.txt as a FIFO and a 30 MiB file. Collect must finish quickly,
    copy only regular files within the caps, say in French what it left, collect both notebooks."""
    a, b = room.a, room.b
    lay = layout(room)
    b_home = room.home_base / room.unix_user(b.name)
    victims = [
        room.hub_dir / "cookie_secret",
        room.course_dir / "source" / HIDDEN / "incubo_exercices.json",
    ]
    before = snapshot(*victims)
    stamp = "2026-01-01 10:00:00.000000 UTC"
    plant = (
        "import os, sys\n"
        "inbound, name, kind, *targets = sys.argv[1:]\n"
        f"d = os.path.join(inbound, name + '+{MODULE}+{stamp}')\n"
        "os.makedirs(os.path.join(d, 'sous-dossier'))\n"
        "open(os.path.join(d, '02-exercices.ipynb'), 'w').write('{}')\n"
        "if kind == 'liens':\n"
        "    os.symlink('/dev/zero', os.path.join(d, 'timestamp.txt'))\n"
        "    os.symlink(targets[0], os.path.join(d, 'sous-dossier', 'secret.txt'))\n"
        "    os.symlink(targets[1], os.path.join(d, 'maison-de-b'))\n"
        "else:\n"
        "    os.mkfifo(os.path.join(d, 'timestamp.txt'))\n"
        "    with open(os.path.join(d, 'donnees.csv'), 'wb') as f:\n"
        "        f.truncate(30 * 1024 * 1024)\n"
    )
    as_learner(
        room, a, plant, str(lay.inbound_of(a.name)), a.name, "liens", str(victims[0]), str(b_home)
    )
    as_learner(room, b, plant, str(lay.inbound_of(b.name)), b.name, "fifo")
    started = time.monotonic()
    done = incubo(
        "grade", "collect", MODULE, "--course-dir", room.course_dir, env=room.env, timeout=60
    )
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert took < 30, f"collect took {took:.0f} s"
    report = done.stdout + done.stderr
    assert "2 copie(s) ramassée(s)" in report, report
    for expected in (
        f"{a.name} : « timestamp.txt » ignoré : c'est un lien symbolique",
        f"{a.name} : « sous-dossier/secret.txt » ignoré : c'est un lien symbolique",
        f"{a.name} : « maison-de-b » ignoré : c'est un lien symbolique",
        f"{b.name} : « timestamp.txt » ignoré : c'est un tube nommé (FIFO)",
        f"{b.name} : « donnees.csv » ignoré : trop gros (30,0 Mio, au plus 20,0 Mio par fichier)",
    ):
        assert expected in report, report
    for lab, files in (
        (a, {"02-exercices.ipynb", "sous-dossier"}),
        (b, {"02-exercices.ipynb", "sous-dossier"}),
    ):
        got = room.course_dir / "submitted" / lab.name / MODULE
        assert {p.name for p in got.iterdir()} == files, list(got.iterdir())
        assert not any(p.is_symlink() for p in got.rglob("*"))
        assert not list((got / "sous-dossier").iterdir())
    assert snapshot(*victims) == before


def kernel_post(lab, url_var: str, body: dict) -> tuple[int, str]:
    out = lab.run(
        "import base64, json, os, urllib.error, urllib.request\n"
        f"req = urllib.request.Request(os.environ[{url_var!r}], method='POST', data=json.dumps({body!r}).encode(),\n"
        "    headers={'Authorization': 'Basic ' + base64.b64encode(os.environ['INCUBO_LRS_AUTH'].encode()).decode(),\n"
        "             'Content-Type': 'application/json'})\n"
        "try:\n"
        "    with urllib.request.urlopen(req, timeout=30) as r:\n"
        "        print(json.dumps([r.status, r.read().decode()]))\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(json.dumps([e.code, e.read().decode()]))\n"
    )  # fmt: skip
    assert out["error"] is None, out
    status, text = json.loads(out["stdout"])
    return status, text


def test_attack_solution_of_a_module_not_released(room):
    """Attack: A asks the solutions service for an exercise of a module still in the course's
    source only (after claiming an attempt, as the policy wants); the released module, asked the
    same way, answers (so the refusal comes from the release check)."""
    a = room.a
    claim = (
        "from incubo import events, xapi\n"
        f"for module in ({MODULE!r}, {HIDDEN!r}):\n"
        "    events.record(xapi.statement('attempted', parcours='essai', module=module, kind='exercice',\n"
        "        ident='ex-moyenne', result={'success': False}))\n"
        "assert events.wait_delivered(30)\n"
    )
    out = a.run(claim)
    assert out["error"] is None, out
    secret = "sum(nombres) / len(nombres)"
    status, text = kernel_post(
        a, "INCUBO_SOLUTIONS_URL", {"module": HIDDEN, "exercice": "ex-moyenne"}
    )
    assert status == 404 and secret not in text, text
    assert "inconnu du serveur" in json.loads(text)["detail"]
    status, text = kernel_post(
        a, "INCUBO_SOLUTIONS_URL", {"module": MODULE, "exercice": "ex-moyenne"}
    )
    assert status == 200 and secret in json.loads(text)["solution"], text


def test_attack_course_sources_from_the_learners_kernel(room):
    """Attack: from A's kernel, read the checkout's course source, then search A's whole Python
    environment and the checkout for a known solution line (bounded in time)."""
    a = room.a
    assert KNOWN_SOLUTION in (ROOT / "courses" / "premiers-pas" / "02-exercices.md").read_text()
    out = a.run(
        "import subprocess, sys, json\n"
        f"cat = subprocess.run(['cat', {str(ROOT / 'courses' / 'premiers-pas' / '02-exercices.md')!r}],"
        " capture_output=True, text=True)\n"
        f"grep = subprocess.run(['grep', '-rlF', {KNOWN_SOLUTION!r}, sys.prefix, {str(ROOT)!r}],"
        " capture_output=True, text=True, timeout=240)\n"
        "print(json.dumps([sys.prefix, cat.returncode, cat.stdout, cat.stderr, grep.stdout]))\n",
        timeout=300,
    )
    assert out["error"] is None, out
    prefix, rc, content, err, found = json.loads(out["stdout"])
    assert not Path(prefix).resolve().is_relative_to(ROOT), prefix  # not the checkout's .venv
    assert rc != 0 and KNOWN_SOLUTION not in content and "Permission" in err, (rc, err)
    assert found == "", found


def kernel_get(lab, url: str) -> tuple[int, str]:
    out = lab.run(
        "import base64, json, os, urllib.error, urllib.request\n"
        f"req = urllib.request.Request({url!r}, headers={{'Authorization': 'Basic ' + "
        "base64.b64encode(os.environ['INCUBO_LRS_AUTH'].encode()).decode()})\n"
        "try:\n"
        "    with urllib.request.urlopen(req, timeout=30) as r:\n"
        "        print(json.dumps([r.status, r.read().decode()]))\n"
        "except urllib.error.HTTPError as e:\n"
        "    print(json.dumps([e.code, e.read().decode()]))\n"
    )
    assert out["error"] is None, out
    status, text = json.loads(out["stdout"])
    return status, text


def test_attack_optional_notebook_before_it_is_earned(room):
    """Attack: during a séance, A reads the optional notebook from the exchange's outbound (where
    the lab's view points) and asks the séance service for it, before passing the open steps.
    Control: once A's passed statements are in the LRS, the service hands it out."""
    from incubo.seance import current

    a = room.a
    opened = incubo("seance", "ouvrir", MODULE, "--course-dir", room.course_dir, env=room.env)
    assert opened.returncode == 0, opened.stdout + opened.stderr
    code = current(room.hub_dir).code
    try:
        outbound = layout(room).outbound / MODULE
        assert (outbound / "02-exercices.ipynb").is_file()  # the séance's steps are out
        probe = (
            "import sys\n"
            "try:\n"
            "    print(open(sys.argv[1]).read())\n"
            "except OSError as exc:\n"
            "    print('REFUSE', type(exc).__name__)\n"
        )
        for path in (
            outbound / "03-plus-loin.ipynb",
            room.course_dir / "release" / MODULE / "03-plus-loin.ipynb",
        ):
            out = as_learner(room, a, probe, str(path))
            assert out.startswith("REFUSE") and "Bonus" not in out, (path, out)
        base = "http://127.0.0.1"  # the kernel reaches the service through its own URL
        service = a.run("import os; print(os.environ['INCUBO_SEANCE_URL'])")["stdout"].strip()
        assert service.startswith(base), service
        status, text = kernel_get(a, service.rstrip("/") + "/apprenant/optionnel/03-plus-loin")
        assert status == 403 and "Bonus" not in text, text
        assert "Terminez d'abord" in json.loads(text)["erreur"]
        # control: A passes the open steps' exercises; the service then hands the notebook out
        out = a.run(
            "from incubo import events, xapi\n"
            "for ex in ('ex-addition-1', 'ex-moyenne', 'ex-secret'):\n"
            f"    events.record(xapi.statement('passed', parcours='essai', module={MODULE!r}, kind='exercice', ident=ex))\n"
            "assert events.wait_delivered(30)\n"
        )
        assert out["error"] is None, out
        url = service.rstrip("/") + "/apprenant/optionnel/03-plus-loin"
        # the dashboard reads the LRS every few seconds
        status, text = wait_for(
            lambda: (got := kernel_get(a, url))[0] == 200 and got,
            timeout=60,
            what="the optional notebook once earned",
        )
        assert status == 200 and "Bonus" in text, text
    finally:
        closed = incubo("seance", "fermer", code, "--course-dir", room.course_dir, env=room.env)
        assert closed.returncode == 0, closed.stdout + closed.stderr
