"""A room that runs for a year: limits per learner, its state at a glance, backups, no orphans.

One real room hub for the module, four learners with their own Unix
accounts. Limits: one fills the memory, one runs a fork bomb, one spins the
CPU; the fourth (and a second kernel of the spinning one) keep running
small cells, whose latency is compared with the idle room's, measured in the
same test. Then a backup taken while a learner writes, restored into new
folders; and `incubo hub` killed outright, which must leave no service.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import statistics
import subprocess
import threading
import time
from pathlib import Path

import psutil
import pytest
from harness import CHROMIUM, CHROMIUM_ARGS, assert_french_error, axe_violations, incubo
from hub_support import shared_tmp, start_hub, unique_name
from nbgrader.api import Gradebook
from seance_support import MODULE as SEANCE_MODULE
from seance_support import make_course as seance_course

from incubo.gradebook import in_process_alembic_head
from incubo.hub import limits

pytestmark = pytest.mark.slow

MEMORY = "1G"
PROCESSES = 64
#: A small cell with a little real work (~10 ms), the kind a learner runs all day.
SMALL_CELL = "sum(i * i for i in range(100_000))"
HOG = 'blocs = []\nwhile True:\n    blocs.append(b"x" * (64 * 1024 * 1024))'
BOMB = "import os\nwhile True:\n    os.fork()"


def _cgroups_ok() -> bool:
    return limits.Cgroups(Path("/nonexistent")).available()


@pytest.fixture(scope="module")
def room():
    if not _cgroups_ok():
        pytest.fail(
            "Les groupes de contrôle (cgroups) ne sont pas accessibles en écriture : les limites par apprenant "
            "ne peuvent pas être essayées sur cette machine (lancez les tests en root)."
        )
    trainer = unique_name("f")
    with start_hub(
        formateurs=[trainer],
        extra_env={"INCUBO_LIMITE_MEMOIRE": MEMORY, "INCUBO_LIMITE_PROCESSUS": str(PROCESSES)},
    ) as hub:
        hub.trainer = trainer
        names = [hub.new_user(p) for p in ("hog", "bomb", "spin", "calm")]
        labs = dict(zip(names, hub.labs(*names), strict=True))
        yield hub, labs


def _latencies(lab, kernel: str, n: int) -> list[float]:
    lab.run("x = 1", kernel=kernel)  # warm
    out = []
    for _ in range(n):
        t = time.monotonic()
        result = lab.run(SMALL_CELL, kernel=kernel, timeout=120)
        assert result["error"] is None, result
        out.append(time.monotonic() - t)
    return out


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def test_a_hog_a_bomb_and_a_spin_leave_the_others_running(room):
    hub, labs = room
    hog, bomb, spin, calm = labs.values()
    spin_side = spin.api("POST", "/kernels", json={"name": "python3"}).json()["id"]
    calm_kernel = calm.kernel()
    idle = _latencies(calm, calm_kernel, 20) + _latencies(spin, spin_side, 20)

    results: dict[str, dict] = {}

    def run(name, lab, code, timeout):
        try:
            results[name] = lab.run(code, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - reported below
            results[name] = {"exception": repr(exc)}

    spinning = threading.Thread(
        target=run,
        args=("spin", spin, "import time\nt = time.time()\nwhile time.time() - t < 40: pass", 120),
    )
    attacks = [
        threading.Thread(target=run, args=("hog", hog, HOG, 120)),
        threading.Thread(target=run, args=("bomb", bomb, BOMB, 120)),
    ]
    spinning.start()
    for t in attacks:
        t.start()
    busy = _latencies(calm, calm_kernel, 20) + _latencies(spin, spin_side, 20)
    for t in attacks:
        t.join(150)
    spinning.join(150)

    state = json.loads(incubo("hub", "etat", "--json", env=hub.env, timeout=60).stdout)
    hog_state = next(a for a in state["apprenants"] if a["nom"] == list(labs)[0])
    print("idle p95", _p95(idle), "busy p95", _p95(busy), results, hog_state)
    assert results["hog"].get("error") == "MemoryError", results["hog"]
    assert "limite de mémoire (1 Gio)" in results["hog"].get("display", ""), results["hog"]
    assert results["bomb"].get("error") == "BlockingIOError", results["bomb"]
    assert f"limite de {PROCESSES} processus" in results["bomb"].get("display", ""), results["bomb"]
    assert _p95(busy) <= 3 * _p95(idle), (idle, busy)
    # the hog still holds what it took: `incubo hub etat` shows it near the limit
    assert hog_state["memoire_limite"] == 1024**3, hog_state
    assert hog_state["memoire"] > 0.5 * hog_state["memoire_limite"], hog_state
    text = incubo("hub", "etat", env=hub.env, timeout=60).stdout
    assert "Apprenants connectés : 4 sur 4" in text and "Gio" in text, text


def test_the_dashboard_corner_shows_the_hog_near_its_limit(room):
    """« État de la salle » on the trainers' dashboard: the figures of `incubo hub etat`, read by the
    services account with the dashboard's own token (runs after the hog, which still holds its memory)."""
    from playwright.sync_api import sync_playwright

    hub, labs = room
    hog = list(labs)[0]
    # a browser of this test only: Playwright's loop must not outlive it (see conftest's `browser`)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(locale="fr-FR", bypass_csp=True).new_page()
            hub.login(page, hub.trainer)
            page.wait_for_load_state()
            assert page.goto(hub.url + "/services/tableau-de-bord/").status == 200
            page.wait_for_function(
                f"document.getElementById('salle-contenu').innerText.includes({hog!r})",
                timeout=60_000,
            )
            data = page.context.request.get(hub.url + "/services/tableau-de-bord/donnees").json()
            room_state = data["salle"]
            corner = page.inner_text("#salle")
            violations = axe_violations(page)
        finally:
            browser.close()
    hog_state = next(a for a in room_state["apprenants"] if a["nom"] == hog)
    print(corner, hog_state)
    # the same figures as `incubo hub etat`: the hog near its limit, the room up, four connected
    assert hog_state["memoire_limite"] == 1024**3, hog_state
    assert hog_state["memoire"] > 0.5 * hog_state["memoire_limite"], hog_state
    assert room_state["hub"]["actif"] and room_state["proxy"]["actif"], room_state
    assert all(s["actif"] for s in room_state["services"].values()), room_state["services"]
    assert room_state["connectes"] == 4, room_state
    # the learners' homes are private to them: the services account says « inconnu », no crash
    assert room_state["en_attente_lrs"] is None, room_state
    assert room_state["disque_libre"] > 0, room_state
    # the page says it in words (not a colour alone): name, memory, limit and percentage
    row = next(line for line in corner.splitlines() if line.startswith(hog))
    percent = int(row.split("(")[1].split(" %")[0])
    assert percent > 50 and "sur 1 Gio" in row, corner
    assert "Apprenants connectés : 4 sur 4" in corner, corner
    assert "Traces en attente d'envoi au LRS : inconnu" in corner, corner
    assert not violations, violations


def test_units_pass_systemd_analyze_verify(tmp_path):
    (tmp_path / "cours").mkdir()
    env = {"INCUBO_HUB_DIR": str(tmp_path / "hub"), "INCUBO_DEMO_PASSWORD": "x"}
    result = incubo(
        "hub", "installer", "--course-dir", tmp_path / "cours", "--dossier-services", tmp_path / "units",
        env=dict(__import__("os").environ, **env), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    units = sorted((tmp_path / "units").glob("incubo-*"))
    assert {"incubo-hub.service", "incubo-proxy.service", "incubo-sauvegarde.service",
            "incubo-sauvegarde.timer", "incubo-purge.service", "incubo-purge.timer",
            } <= {u.name for u in units}  # fmt: skip
    assert oct((tmp_path / "units" / "salle.env").stat().st_mode & 0o777) == "0o600"
    assert 'INCUBO_DEMO_PASSWORD="x"' in (tmp_path / "units" / "salle.env").read_text()
    check = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *map(str, units)],
        capture_output=True, text=True, cwd=tmp_path / "units", timeout=60,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


#: In a learner's kernel: one statement, delivered to the room's LRS through the gate.
STATEMENT = (
    "import json\nfrom incubo import events, xapi\n"
    "s = xapi.statement('asked', parcours='essai', module='essai-01', kind='exercice', ident='ex-1')\n"
    "events.record(s)\nprint(json.dumps([s['id'], events.wait_delivered(30)]))"
)


def wait_for_statement(folder: Path, statement_id: str, timeout: float = 30) -> None:
    """Until Ralph's files hold the statement (it answered the gate, then wrote)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in folder.rglob("*"):
            if f.is_file() and statement_id in f.read_text(encoding="utf-8", errors="replace"):
                return
        time.sleep(0.2)
    raise AssertionError(f"statement {statement_id} not in {folder}")


def _gradebook(path: Path) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return (
            db.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
            + db.execute("SELECT * FROM notes ORDER BY rowid").fetchall()
        )


def test_a_backup_taken_during_activity_restores_into_new_folders(room):
    hub, labs = room
    name, lab = next(iter(labs.items()))
    lab.save("mon-travail.py", "print('bonjour')\n" * 100)
    with (
        in_process_alembic_head(),
        Gradebook(f"sqlite:///{hub.course_dir / 'gradebook.db'}") as gradebook,  # nbgrader's
    ):
        gradebook.update_or_create_student(name, first_name="Agent", last_name="Sauvegardé")
    with sqlite3.connect(
        hub.course_dir / "notes.db"
    ) as db:  # a gradebook written during the backup
        db.execute("CREATE TABLE IF NOT EXISTS notes (apprenant TEXT, note REAL)")
        db.execute("INSERT INTO notes VALUES (?, 7.5)", (name,))
    seance_course(hub.course_dir)  # a released module with its steps
    opened = incubo(
        "seance", "ouvrir", SEANCE_MODULE, "--course-dir", hub.course_dir, env=hub.env, timeout=120
    )
    assert opened.returncode == 0, opened.stderr
    seances = sorted((hub.hub_dir / "seances").glob("*.json"))
    assert seances
    # a learning statement from the learner's own kernel, stored by Ralph before the backup
    sent = lab.run(STATEMENT, timeout=120)
    assert sent["error"] is None, sent
    statement_id, delivered = json.loads(sent["stdout"])
    assert delivered, "the learner's statement is still in their spool"
    ralph_data = hub.hub_dir / "lrs" / "donnees"
    wait_for_statement(ralph_data, statement_id)
    writing = threading.Event()

    def activity():  # a learner writing, and the gradebook written, while the backup runs
        i = 0
        while not writing.is_set():
            lab.save(f"brouillon-{i % 3}.txt", f"essai {i}\n")
            with sqlite3.connect(hub.course_dir / "notes.db") as db:
                db.execute("INSERT INTO notes VALUES (?, ?)", (name, i))
            i += 1

    worker = threading.Thread(target=activity)
    worker.start()
    folder = shared_tmp("incubo-sauvegardes-")
    try:
        saved = incubo(
            "hub", "sauvegarder", folder, "--course-dir", hub.course_dir, env=hub.env, timeout=300
        )
    finally:
        writing.set()
        worker.join(60)
    assert saved.returncode == 0, saved.stderr
    archive = next(folder.glob("incubo-salle-*.tar.gz"))
    assert oct(archive.stat().st_mode & 0o777) == "0o600"

    target = shared_tmp("incubo-restauration-")
    (target / "homes").mkdir()
    (target / "homes").chmod(0o755)
    env = dict(
        hub.env,
        INCUBO_HUB_DIR=str(target / "hub"),
        INCUBO_HUB_HOME_BASE=str(target / "homes"),
    )
    try:
        restored = incubo(
            "hub", "restaurer", archive, "--course-dir", target / "cours", env=env, timeout=300
        )
        assert restored.returncode == 0, restored.stderr
        assert "Salle restaurée" in restored.stdout + restored.stderr
        # the learner's work, byte for byte, owned by the learner
        unix = hub.unix_user(name)
        home = target / "homes" / unix
        mine = home / "mon-travail.py"
        assert mine.read_bytes() == (hub.home_base / unix / "mon-travail.py").read_bytes()
        assert mine.stat().st_uid == (hub.home_base / unix).stat().st_uid
        # séances and the hub's database and secrets
        for seance in seances:
            assert (target / "hub" / "seances" / seance.name).read_bytes() == seance.read_bytes()
        for secret in ("cookie_secret", "service_token"):
            assert (target / "hub" / secret).read_bytes() == (hub.hub_dir / secret).read_bytes()
        with sqlite3.connect(target / "hub" / "jupyterhub.sqlite") as db:
            users = {r[0] for r in db.execute("SELECT name FROM users")}
        assert set(labs) <= users
        # the gradebook: every row written before the backup, a consistent database
        rows = _gradebook(target / "cours" / "notes.db")
        assert (name, 7.5) in rows, rows
        with Gradebook(f"sqlite:///{target / 'cours' / 'gradebook.db'}") as gradebook:
            assert gradebook.find_student(name).last_name == "Sauvegardé"
        # learning statements: every line Ralph had is there, whole (Ralph may have appended since)
        stored = [p for p in ralph_data.rglob("*") if p.is_file()]
        assert stored, "Ralph stored nothing"
        for data in stored:
            copy = target / "hub" / data.relative_to(hub.hub_dir)
            assert copy.is_file(), copy
            assert data.read_bytes().startswith(copy.read_bytes()), data
        restored_ids = {
            json.loads(line)["id"]
            for copy in (target / "hub" / "lrs" / "donnees").rglob("*")
            if copy.is_file()
            for line in copy.read_text(encoding="utf-8").splitlines()
            if line.strip()
        }
        assert statement_id in restored_ids
        # restoring over a room is refused, in French, with nothing changed
        again = incubo(
            "hub", "restaurer", archive, "--course-dir", target / "cours", env=env, timeout=120
        )
        assert again.returncode != 0 and "n'est pas vide" in again.stderr
    finally:
        subprocess.run(["rm", "-rf", str(target), str(folder)], check=False)


def _room_services(hub_dir: Path) -> list[psutil.Process]:
    """JupyterHub and the services it started for this room (the proxy outlives the hub on purpose)."""
    out = []
    for p in psutil.process_iter(["cmdline", "environ"]):
        try:
            line = " ".join(p.info["cmdline"] or [])
            env = p.info["environ"] or {}
        except psutil.Error:
            continue
        if env.get("INCUBO_HUB_DIR") != str(hub_dir) or "configurable-http-proxy" in line:
            continue
        if "jupyterhub" in line or "incubo.hub." in line or "ralph" in line:
            out.append(p)
    return out


def test_killing_incubo_hub_outright_leaves_no_service(room):
    hub, _labs = room
    hub.wait_running()
    services = _room_services(hub.hub_dir)
    assert len(services) >= 3, services  # jupyterhub, the gate, the dashboard, the solutions…
    ports = set()
    for p in services:
        try:  # a short-lived child may end (or linger as a zombie) between the listing and here
            ports |= {c.laddr.port for c in p.net_connections("tcp") if c.status == "LISTEN"}
        except psutil.Error:
            continue
    for p in services:  # JupyterHub itself killed outright (a crash, the OOM killer)…
        line = " ".join(p.info["cmdline"] or [])
        if "jupyterhub" in line and "singleuser" not in line:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
    hub.stop(signal.SIGKILL)  # … and `incubo hub` too
    deadline = time.monotonic() + 60
    while _room_services(hub.hub_dir) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not _room_services(hub.hub_dir), _room_services(hub.hub_dir)
    held = {c.laddr.port for c in psutil.net_connections("tcp") if c.status == "LISTEN"}
    assert not (ports & held), ports & held


def test_a_second_room_on_this_machine_gets_free_internal_ports_or_a_french_refusal():
    import socket

    held = []
    for port in (8081, 8001):  # what a first room (or a proxy left over) holds
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
            held.append(sock)
        except OSError:
            sock.close()  # already held by someone else: the room must cope all the same
    try:
        with start_hub(start=False) as hub:
            for name in ("INCUBO_HUB_API_PORT", "INCUBO_HUB_PROXY_API_PORT"):
                hub.env.pop(name)
            taken = socket.socket()
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            public = hub.env["INCUBO_HUB_PORT"]
            hub.env["INCUBO_HUB_PORT"] = str(taken.getsockname()[1])
            refused = incubo("hub", "--course-dir", hub.course_dir, env=hub.env, timeout=60)
            taken.close()
            assert refused.returncode != 0
            assert f"Le port {hub.env['INCUBO_HUB_PORT']} est déjà pris" in refused.stderr, (
                refused.stderr
            )
            assert "Traceback" not in refused.stderr
            hub.env["INCUBO_HUB_PORT"] = public
            hub.start()
            chosen = json.loads((hub.hub_dir / "ports-internes.json").read_text())
            assert chosen["hub"] != 8081 and chosen["proxy-api"] != 8001, chosen
            state = json.loads(incubo("hub", "etat", "--json", env=hub.env, timeout=60).stdout)
            assert state["hub"]["actif"] and state["proxy"]["actif"], state
    finally:
        for sock in held:
            sock.close()


def test_a_hub_folder_learners_cannot_traverse_is_refused_before_anything_starts():
    """Under a 0700 parent every login ended on a 500 page (« Permission denied … python3 »):
    refused first, in one French sentence naming the folder and the fix."""
    with start_hub(start=False) as hub:
        closed = hub.base / "ferme"
        closed.mkdir()
        closed.chmod(0o700)
        env = dict(hub.env, INCUBO_HUB_DIR=str(closed / "hub"))
        refused = incubo("hub", "--course-dir", hub.course_dir, env=env, timeout=120)
        assert_french_error(refused, f"« {closed} » leur est fermé", f"chmod o+x {closed}")
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert not (closed / "hub" / "jupyterhub.pid").exists()  # JupyterHub never started
