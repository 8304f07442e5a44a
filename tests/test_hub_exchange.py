"""The room's exchange, tried as learners would: real Unix accounts, real nbgrader, real files.

Two learners get the released module in their home with no action of theirs,
submit with nbgrader's own `submit`, the trainer collects, grades and returns
feedback with `incubo grade`; then, from a process running as learner A, B's
submission and B's feedback are out of reach (nbgrader #1225, #978: stock
exchange folders are readable by every student).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
from harness import BIN, ROOT, incubo, isolated_env, require_root

from incubo.exchange import ExchangeLayout

MODULE = "es-01-calculs"
SOLVED = "total = 12 + 30"


@pytest.fixture(autouse=True, scope="module")
def as_root():
    """The only test of isolation between learners: it must run, so not being root fails it."""
    require_root("L'isolement entre apprenants n'est pas vérifié")


def run_as(
    unix_user: str, args: list[str], *, home: Path, env: dict | None = None, check=True
) -> subprocess.CompletedProcess:
    """Run a command as a learner's Unix account (their uid, gid and groups), from their home."""
    full = {"HOME": str(home), "PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", **(env or {})}
    cmd = [
        "setpriv",
        f"--reuid={unix_user}",
        f"--regid={unix_user}",
        "--init-groups",
        "--",
        *map(str, args),
    ]
    proc = subprocess.run(cmd, env=full, cwd=home, capture_output=True, text=True, timeout=300)
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A built course, a hub folder with its exchange, and two learners with their modules fetched."""
    from incubo.hub import accounts, exchange

    work = Path(tempfile.mkdtemp(prefix="incubo-echange-"))
    os.chmod(work, 0o755)
    env = isolated_env(tmp_path_factory.mktemp("exchange-env"))
    course = work / "cours"
    built = incubo(
        "build",
        "--courses",
        ROOT / "tests" / "fixtures" / "build" / "ok",
        "--course-dir",
        course,
        env=env,
    )
    assert built.returncode == 0, built.stderr
    os.chmod(course, 0o700)  # as the hub leaves it: the sources and gradebook are not the learners'
    suffix = os.urandom(3).hex()
    settings = SimpleNamespace(
        hub_dir=work / "hub", course_dir=course, course_id="incubo", formateurs=()
    )
    settings.hub_dir.mkdir(mode=0o755)
    exchange.ensure_exchange(settings)
    exchange.write_role_configs(settings)
    env["INCUBO_HUB_DIR"] = str(settings.hub_dir)
    released = incubo("grade", "release", MODULE, "--course-dir", course, env=env)
    assert released.returncode == 0, released.stderr
    learners = {}
    try:
        for who in ("a", "b"):
            hub_name = f"{who}{suffix}"
            unix_user, home = accounts.ensure_account(hub_name, work / "homes")
            learners[who] = SimpleNamespace(
                hub=hub_name, unix=unix_user, home=home
            )  # removed at teardown
            spawner = SimpleNamespace(user=SimpleNamespace(name=hub_name, groups=[]))
            learners[who].fetched = exchange.prepare_learner(spawner, unix_user, home, settings)
        yield SimpleNamespace(
            settings=settings,
            course=course,
            env=env,
            learners=learners,
            layout=ExchangeLayout(settings.hub_dir / "exchange", "incubo"),
        )
    finally:
        for learner in learners.values():
            accounts.remove_account(unix_user=learner.unix)
        shutil.rmtree(work, ignore_errors=True)


def learner_env(room) -> dict:
    return {
        "JUPYTER_CONFIG_PATH": str(room.settings.hub_dir / "config" / "apprenant")
        + os.pathsep
        + str(room.settings.hub_dir / "config" / "commun")
    }


def both(action, learners) -> None:
    """`action(learner)` for each learner at the same time; an assertion failed in one is raised."""
    with ThreadPoolExecutor(max_workers=len(learners)) as pool:
        for future in [pool.submit(action, learner) for learner in learners]:
            future.result()


def test_released_module_is_in_each_home_with_no_action(room):
    for learner in room.learners.values():
        assert learner.fetched == [MODULE]
        notebook = learner.home / "incubo" / MODULE / "02-exercices.ipynb"
        assert notebook.is_file()
        assert notebook.stat().st_uid == os.stat(learner.home).st_uid != 0


def test_whole_cycle_then_b_is_out_of_reach_for_a(room):
    a, b = room.learners["a"], room.learners["b"]

    # each learner answers and submits with nbgrader's own submit (what the Assignment List runs);
    # the two learners at the same time, as in the room
    def answer_and_submit(learner) -> None:
        nb = learner.home / "incubo" / MODULE / "02-exercices.ipynb"
        run_as(
            learner.unix,
            [
                "python",
                "-c",
                f"import pathlib; p = pathlib.Path({str(nb)!r}); "
                "p.write_text(p.read_text().replace('raise NotImplementedError()', "
                + repr(SOLVED)
                + "))",
            ],
            home=learner.home,
        )
        run_as(
            learner.unix,
            ["nbgrader", "submit", MODULE, "--course", "incubo"],
            home=learner.home,
            env=learner_env(room),
        )

    both(answer_and_submit, (a, b))
    # learner A plants a trap: a link to the source notebook (with solutions) in a second submission
    source = room.course / "source" / MODULE / "02-exercices.ipynb"
    trap = run_as(
        a.unix,
        [
            "python",
            "-c",
            "import glob, os, shutil; d = glob.glob('.incubo/echange/incubo/inbound/*')[0]; "
            f"t = d.split('+')[0] + '+{MODULE}+2099-01-01 00:00:00.000000 UTC+piege'; shutil.copytree(d, t); "
            f"os.remove(t + '/01-lecon.ipynb'); os.symlink({str(source)!r}, t + '/01-lecon.ipynb'); print(t)",
        ],
        home=a.home,
    )
    assert trap.stdout.strip()

    for step in (["collect", MODULE], ["autograde", MODULE], ["feedback", MODULE, "--release"]):
        done = incubo("grade", *step, "--course-dir", room.course, env=room.env)
        assert done.returncode == 0, done.stdout + done.stderr
    for learner in (a, b):
        assert (room.course / "submitted" / learner.hub / MODULE / "02-exercices.ipynb").is_file()
    # the planted link was not followed: no copy of the source notebook reaches A's submission
    collected = room.course / "submitted" / a.hub / MODULE
    assert (
        collected / "02-exercices.ipynb"
    ).is_file()  # the latest (planted) submission was collected...
    assert not (collected / "01-lecon.ipynb").exists()  # ...without following its link

    # each learner fetches their feedback with nbgrader's own fetch_feedback (both at once)
    both(
        lambda learner: run_as(
            learner.unix,
            ["nbgrader", "fetch_feedback", MODULE, "--course", "incubo"],
            home=learner.home,
            env=learner_env(room),
        ),
        (a, b),
    )
    for learner in (a, b):
        pages = list((learner.home / "incubo" / MODULE / "feedback").glob("*/02-exercices.html"))
        assert pages, f"no feedback for {learner.hub}"
        assert learner.hub in pages[0].read_text()

    # from A: B's submission, B's feedback, B's home, the course directory: all refused
    b_submission = next(room.layout.inbound_of(b.hub).iterdir())
    b_feedback = next(room.layout.feedback_of(b.hub).glob("*.html"))
    targets = {
        "submission de B": b_submission / "02-exercices.ipynb",
        "dossier de B dans l'échange": room.layout.inbound_of(b.hub),
        "retour de B": b_feedback,
        "dossier des retours de B": room.layout.feedback_of(b.hub),
        "liste des apprenants": room.layout.inbound,
        "liste des retours": room.layout.feedback,
        "carnet de notes": room.course / "gradebook.db",
        "sources": room.course / "source" / MODULE / "02-exercices.ipynb",
        "maison de B": b.home,
    }
    probe = (
        "import os, sys\n"
        "for label, path in zip(sys.argv[1::2], sys.argv[2::2]):\n"
        "    try:\n"
        "        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read(1)\n"
        "        print('LU', label)\n"
        "    except (PermissionError, FileNotFoundError) as exc:\n"
        "        print('REFUSE', label, type(exc).__name__)\n"
    )
    args = [x for label, path in targets.items() for x in (label, str(path))]
    out = run_as(a.unix, ["python", "-c", probe, *args], home=a.home).stdout
    assert "LU" not in out.split(), out
    assert out.count("REFUSE") == len(targets), out
