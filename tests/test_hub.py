"""`incubo hub`: a real JupyterHub with its proxy, real Unix accounts, as learners would try it.

One hub for the module (starting a hub and two servers costs tens of
seconds on two shared cores); the restart test comes last because it
stops and starts that hub (and leaves it running).
"""

from __future__ import annotations

import os
import pwd
import signal
import stat
import time
import uuid
from pathlib import Path

import psutil
import pytest
import requests
from harness import assert_french_error, axe_violations, incubo, isolated_env, wait_for
from hub_support import start_hub, unique_name

#: The room's trainer: a fresh name, so that no other run's Unix account is ever reused.
TRAINER = unique_name("f")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub():
    with start_hub(formateurs=[TRAINER]) as h:
        yield h


@pytest.fixture(scope="module")
def learners(hub):
    """Two learners logged in, their servers up: (name, LabClient) each."""
    a, b = hub.new_user(), hub.new_user()
    lab_a, lab_b = hub.labs(a, b)
    return (a, lab_a), (b, lab_b)


def test_demo_login_needs_a_shared_password(tmp_path):
    env = isolated_env(tmp_path / "env")
    env.update(INCUBO_HUB_AUTH="demo", INCUBO_HUB_DIR=str(tmp_path / "hub"))
    env.pop("INCUBO_DEMO_PASSWORD", None)
    (tmp_path / "cours").mkdir()
    result = incubo("hub", "--course-dir", tmp_path / "cours", env=env, timeout=60)
    assert_french_error(result, "INCUBO_DEMO_PASSWORD")
    assert not (tmp_path / "hub" / "jupyterhub.sqlite").exists()


def test_bad_input_gets_one_french_sentence(tmp_path):
    env = isolated_env(tmp_path / "env")
    env.update(
        INCUBO_DEMO_PASSWORD="mot-de-passe-de-la-salle", INCUBO_HUB_DIR=str(tmp_path / "hub")
    )
    missing = incubo("hub", "--course-dir", tmp_path / "absent", env=env, timeout=60)
    assert_french_error(missing, "incubo build")
    no_hub = incubo("hub", "prechauffer", "anne.durand", env=env, timeout=60)
    assert_french_error(no_hub, "incubo hub")


def test_wrong_password_is_refused(hub):
    session = requests.Session()
    r = hub.login(session, hub.new_user(), "pas-le-bon-mot-de-passe")
    assert r.status_code == 403
    assert (
        session.get(f"{hub.url}/hub/home", allow_redirects=False).status_code == 302
    )  # still logged out


def test_each_learner_has_a_private_unix_account(hub, learners):
    (a, lab_a), (b, lab_b) = learners
    who_a = lab_a.run(
        "import os, pwd; print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name, os.path.expanduser('~'))"
    )
    who_b = lab_b.run(
        "import os, pwd; print(os.getuid(), pwd.getpwuid(os.getuid()).pw_name, os.path.expanduser('~'))"
    )
    uid_a, user_a, home_a = who_a["stdout"].split()
    uid_b, user_b, home_b = who_b["stdout"].split()
    assert int(uid_a) != 0 and int(uid_b) != 0 and uid_a != uid_b
    assert (user_a, user_b) == (hub.unix_user(a), hub.unix_user(b))
    for home, uid in ((home_a, uid_a), (home_b, uid_b)):
        st = os.stat(home)
        assert st.st_uid == int(uid) and stat.S_IMODE(st.st_mode) == 0o700
        assert os.path.dirname(home) == str(hub.home_base)


def test_a_learner_cannot_read_others_work_nor_the_course(hub, learners):
    (a, lab_a), (b, lab_b) = learners
    lab_b.save("secret.py", "reponse = 42\n")
    home_b = hub.home_base / hub.unix_user(b)
    targets = {
        "home of the other learner": home_b,
        "file of the other learner": home_b / "secret.py",
        "gradebook": hub.course_dir / "gradebook.db",
        "source notebook": hub.course_dir / "source" / "m1" / "lecon.ipynb",
        "hub database": hub.hub_dir / "jupyterhub.sqlite",
        "cookie secret": hub.hub_dir / "cookie_secret",
    }
    code = (
        "import os\n"
        f"for label, path in {[(k, str(v)) for k, v in targets.items()]!r}:\n"
        "    try:\n"
        "        os.listdir(path) if os.path.isdir(path) else open(path, 'rb').read()\n"
        "        print(label, 'LU')\n"
        "    except PermissionError:\n"
        "        print(label, 'refusé')\n"
    )
    lines = lab_a.run(code)["stdout"].splitlines()
    assert lines == [f"{label} refusé" for label in targets], lines
    assert lab_b.read("secret.py") == "reponse = 42\n"  # it is there, only not for A
    # nor through the proxy with A's login: B's server refuses A
    r = lab_a.session.get(
        f"{hub.url}/user/{b}/api/contents/secret.py", allow_redirects=True, timeout=60
    )
    assert r.status_code == 403 and "reponse" not in r.text
    # a trainer's own kernel reads neither: the course is the grader account's, which the
    # trainer reaches through the formgrader (incubo.hub.privileges), never learners' homes
    trainer = hub.lab(TRAINER).run(code)["stdout"].splitlines()
    assert "source notebook refusé" in trainer and "home of the other learner refusé" in trainer, (
        trainer
    )


def test_warm_up_starts_servers_before_the_session(hub):
    early, late = hub.new_user(), hub.new_user()
    result = incubo(
        "hub", "prechauffer", early, late, "--course-dir", hub.course_dir, env=hub.env, timeout=600
    )
    assert result.returncode == 0, result.stderr
    assert "2 serveur(s) prêt(s) sur 2" in result.stderr
    for name in (early, late):
        assert hub.user_model(name)["servers"][""]["ready"]
    # at 9:00 the login lands straight on the running server, no waiting page: a new agent's
    # first screen is the RGPD notice (incubo.hub.rgpd_page), JupyterLab once it is read
    session = requests.Session()
    r = hub.login(session, early)
    assert r.status_code == 302
    r = session.get(hub.url + r.headers["Location"], timeout=60)
    assert f"/user/{early}/incubo/mes-donnees" in r.url and r.status_code == 200

    step_released_while_warm(hub, [early, late])


def step_released_while_warm(hub, names: list[str]) -> None:
    """A module released at 9:00 reaches every pre-warmed home within 10 s, without a click."""
    module = f"pw-{uuid.uuid4().hex[:6]}"
    release = hub.course_dir / "release"
    owner = os.stat(hub.course_dir)
    (release / module).mkdir(parents=True)
    (release / module / "lecon.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    for path in (release, release / module, release / module / "lecon.ipynb"):
        os.chown(path, owner.st_uid, owner.st_gid)  # as `incubo build` run by the course's owner
    homes = {name: Path(pwd.getpwnam(hub.unix_user(name)).pw_dir) for name in names}
    assert not any((home / "incubo" / module).exists() for home in homes.values())
    released = incubo(
        "grade", "release", module, "--course-dir", hub.course_dir, env=hub.env, timeout=120
    )
    assert released.returncode == 0, released.stderr
    start = time.monotonic()
    for name, home in homes.items():
        notebook = home / "incubo" / module / "lecon.ipynb"
        wait_for(
            notebook.is_file, timeout=10 - (time.monotonic() - start), what=f"{name}: {module}"
        )
        assert notebook.stat().st_uid == pwd.getpwnam(hub.unix_user(name)).pw_uid  # the learner's
    print(f"module reçu par {len(names)} espaces préchauffés en {time.monotonic() - start:.1f} s")


def test_restart_keeps_sessions_servers_and_work(hub, learners):
    (a, lab_a), _ = learners
    lab_a.save("travail.py", "x = 1\n")
    kernel = lab_a.kernel()
    lab_a.run("avant_redemarrage = 'toujours là'")
    server_pid = next(
        p.pid for p in psutil.process_iter(["username"]) if p.info["username"] == hub.unix_user(a)
    )

    before = len(hub.log())
    stopping = time.monotonic()
    assert hub.stop(signal.SIGINT) == 0  # Ctrl+C in the administrator's terminal
    stopped_in = time.monotonic() - stopping
    said = hub.log()[before:]
    assert "Traceback" not in said and "Error" not in said, said[-3000:]
    print(f"incubo hub arrêté (Ctrl+C) en {stopped_in:.1f} s")
    assert stopped_in < 20, said[-3000:]
    assert psutil.pid_exists(server_pid)
    # while the hub is down, the learner's open lab keeps working through the proxy
    assert lab_a.read("travail.py") == "x = 1\n"
    # even if the proxy dies meanwhile, the next start brings a new one with every running server's route
    proxy = psutil.Process(int((hub.hub_dir / "proxy.pid").read_text()))
    proxy.kill()
    proxy.wait(10)

    hub.start()
    hub.wait_running()  # the routes of running servers are put back at the end of the hub's start
    home = lab_a.session.get(f"{hub.url}/hub/home", allow_redirects=False)
    assert home.status_code == 200, "the login cookie no longer works after the restart"
    assert hub.user_model(a)["servers"][""]["ready"]
    assert lab_a.read("travail.py") == "x = 1\n"
    assert lab_a.run("print(avant_redemarrage)", kernel=kernel)["stdout"] == "toujours là\n"
    assert hub.login(requests.Session(), hub.new_user()).status_code == 302


ENGLISH = (
    "Sign in",
    "Logout",
    "Your server",
    "Server not running",
    "Start My Server",
    "Jupyter has lots of moons",
)


def check_french_page(page) -> None:
    """The hub's page is in French (lang, no stock English), and axe-core finds nothing serious."""
    assert page.locator("html").get_attribute("lang") == "fr"
    text = page.inner_text("body")
    for words in ENGLISH:
        assert words not in text, (words, page.url)
    assert axe_violations(page) == [], page.url


def test_hub_pages_are_french_and_accessible(hub, page):
    page.goto(f"{hub.url}/hub/login")
    assert "Connexion à la salle de formation" in page.inner_text("h1")
    check_french_page(page)

    hub.login(page, hub.new_user(), "mauvais-mot-de-passe")
    assert "Identifiant ou mot de passe incorrect" in page.inner_text(".login_error")
    check_french_page(page)

    # the waiting page, held there (no progress events) long enough to be checked
    page.route("**/progress", lambda route: route.abort())
    name = hub.new_user()
    hub.login(page, name)
    page.wait_for_url("**/spawn-pending/**")
    assert "Votre espace de travail démarre" in page.inner_text("h1")
    check_french_page(page)
    page.goto(
        "about:blank"
    )  # the waiting page would jump to the lab once ready, racing what follows
    page.unroute("**/progress")
    hub.start_server(name)

    page.goto(f"{hub.url}/hub/home")
    assert f"Bonjour {name}" in page.inner_text("h1")
    check_french_page(page)

    page.goto(f"{hub.url}/hub/cette-page-n-existe-pas")
    assert "Page introuvable" in page.inner_text("h1")
    check_french_page(page)

    # the learner's JupyterLab: French menus, no "Jupyter news" question, opened on their home
    page.goto(f"{hub.url}/user/{name}/lab")
    page.get_by_role("menuitem", name="Fichier").wait_for(timeout=120_000)
    assert "news" not in page.inner_text("body").lower()
    assert "nouvelles officielles" not in page.inner_text("body").lower()


def test_end_of_day_stops_everything(hub, learners):
    """`incubo hub arreter`: learners' servers, the hub and the proxy are stopped (last test: it ends the hub)."""
    (a, _), (b, _) = learners
    proxy = psutil.Process(int((hub.hub_dir / "proxy.pid").read_text()))
    before = len(hub.log())
    result = incubo("hub", "arreter", "--course-dir", hub.course_dir, env=hub.env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert hub.proc.wait(60) == 0
    said = result.stdout + result.stderr + hub.log()[before:]
    assert "Traceback" not in said and "Error" not in said, said[-3000:]
    names = {hub.unix_user(a), hub.unix_user(b)}
    assert not [p for p in psutil.process_iter(["username"]) if p.info["username"] in names]
    assert not proxy.is_running()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{hub.url}/hub/login", timeout=5)
