"""Room attacks on the trainer's rights, shared-password room (issue 18, points 1 and 2).

A real `incubo hub` (demo login), real accounts. A learner is told the room
password; each test tries, as that learner would, to get something of a
trainer through the login form, and checks they get nothing: no hub session,
no formgrader (`/services/<course>/`), no dashboard (`/services/tableau-de-bord/`),
no séance panel (`…/seance/etat`). The trainer, with the password set by
`incubo hub formateur`, gets all three (so the refusals are not vacuous).
ProConnect's side is in tests/test_proconnect.py (`test_attack_…`).
"""

from __future__ import annotations

import html
import re
import stat
import subprocess
from urllib.parse import urlparse

import pytest
import requests
from harness import BIN, incubo, wait_for
from hub_support import PASSWORD, start_hub, unique_name

from incubo.hub import trainers

TRAINER = unique_name("f")
#: Listed in INCUBO_HUB_FORMATEURS, never given a password of their own.
NO_PASSWORD = unique_name("f")
#: What a trainer sees and a learner must not.
TRAINER_PAGES = (
    "/services/incubo/",
    "/services/tableau-de-bord/",
    "/services/tableau-de-bord/seance/etat",
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub():
    listed = f"{TRAINER},{NO_PASSWORD}"
    with start_hub(formateurs=[TRAINER], extra_env={"INCUBO_HUB_FORMATEURS": listed}) as h:
        h.wait_running()
        yield h


def login_error(response: requests.Response) -> str:
    """The French sentence the login page shows (JupyterHub's `login_error`)."""
    found = re.search(r'class="login_error"[^>]*>(.*?)</p>', response.text, re.S)
    assert found, response.text[-2000:]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def reaches(session: requests.Session, hub, path: str) -> bool:
    """Does this browser session get the page itself (not the login form, not a refusal)?"""
    r = session.get(hub.url + path, timeout=60)
    return r.status_code == 200 and urlparse(r.url).path != "/hub/login"


def assert_gets_nothing_of_a_trainer(session: requests.Session, hub) -> None:
    for path in TRAINER_PAGES:
        r = session.get(hub.url + path, timeout=60)
        assert r.status_code == 403 or urlparse(r.url).path == "/hub/login", (path, r.status_code)


def test_attack_room_password_under_a_trainers_name_is_refused(hub):
    before = set(hub.hub_users())
    for typed in (TRAINER, TRAINER.upper(), f"  {TRAINER} "):
        session = requests.Session()
        r = hub.login(session, typed, PASSWORD)
        assert r.status_code == 403, (typed, r.status_code)
        message = login_error(r)
        assert "mot de passe personnel" in message and "jamais avec celui de la salle" in message
        assert session.get(f"{hub.url}/hub/api/user", timeout=30).status_code in (401, 403)
        assert_gets_nothing_of_a_trainer(session, hub)
    assert set(hub.hub_users()) == before  # no hub user made by the attempt, hence no account


def test_attack_listed_trainer_without_a_password_cannot_log_in(hub):
    session = requests.Session()
    r = hub.login(session, NO_PASSWORD, PASSWORD)
    assert r.status_code == 403
    message = login_error(r)
    assert f"incubo hub formateur {NO_PASSWORD}" in message, message
    assert NO_PASSWORD not in hub.hub_users()
    assert_gets_nothing_of_a_trainer(session, hub)


def test_attack_a_learner_logged_in_reaches_no_trainer_tool(hub):
    name = unique_name("a")
    session = requests.Session()
    assert hub.login(session, name, PASSWORD).status_code == 302
    assert hub.user_model(name)["groups"] == ["nbgrader-incubo"]
    for path in TRAINER_PAGES:
        r = session.get(hub.url + path, timeout=60)
        assert r.status_code == 403, (path, r.status_code, r.url)


def test_the_trainer_with_their_own_password_gets_the_trainer_tools(hub):
    session = requests.Session()
    r = hub.login(session, TRAINER)  # the password `incubo hub formateur` set
    assert r.status_code == 302, r.text[-1000:]
    assert "formgrade-incubo" in hub.user_model(TRAINER)["groups"]
    for path in TRAINER_PAGES:
        wait_for(lambda p=path: reaches(session, hub, p), timeout=120, what=path)
    r = session.get(hub.url + "/services/incubo/", timeout=60)
    assert "/services/incubo/formgrader" in r.url


def test_a_reset_password_replaces_the_old_one(hub):
    old = hub.password_of(TRAINER)
    new = hub.set_trainer_password(TRAINER)
    assert hub.login(requests.Session(), TRAINER, old).status_code == 403
    assert hub.login(requests.Session(), TRAINER, PASSWORD).status_code == 403
    assert hub.login(requests.Session(), TRAINER, new).status_code == 302


def test_incubo_hub_formateur_stores_a_hash_root_only_and_refuses_in_french(hub):
    path = trainers.passwords_file(hub.hub_dir)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == 0
    text = path.read_text()
    assert TRAINER in text and "$argon2id$" in text
    assert hub.password_of(TRAINER) not in text
    cases = [
        ("inconnu", "un-mot-de-passe-assez-long", "n'est pas dans INCUBO_HUB_FORMATEURS"),
        (TRAINER, "court", "trop court"),
        (TRAINER, PASSWORD, "celui de la salle"),
    ]
    for name, password, expected in cases:
        r = incubo_stdin(hub, name, password)
        assert r.returncode != 0 and expected in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert path.read_text() == text  # nothing changed
    assert hub.login(requests.Session(), TRAINER).status_code == 302


def incubo_stdin(hub, name: str, password: str):
    return subprocess.run(
        [str(BIN / "incubo"), "hub", "formateur", name],
        input=password + "\n", env=hub.env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_incubo_hub_formateur_help_is_french():
    r = incubo("hub", "formateur", "--help")
    assert r.returncode == 0 and "mot de passe de la salle ne connecte jamais" in r.stdout


def test_warm_up_without_names_skips_the_trainers_by_their_group(hub):
    learner = unique_name("a")
    assert hub.login(requests.Session(), learner).status_code == 302
    assert hub.login(requests.Session(), TRAINER).status_code == 302
    r = incubo("hub", "prechauffer", "--course-dir", hub.course_dir, env=hub.env, timeout=600)
    assert r.returncode == 0, r.stderr
    assert hub.user_model(learner)["servers"][""]["ready"]
    assert not hub.user_model(TRAINER)["servers"]  # a trainer is not a learner to warm up
