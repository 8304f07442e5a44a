"""A real room hub for tests: `incubo hub` with its proxy, real Unix accounts, a lab client.

    with start_hub(formateurs=["f1"]) as hub:       # or the `hub` fixture of a test module
        name = hub.new_user()                       # unique name, account removed at teardown
        lab = hub.lab(name)                         # logged in, server ready, OAuth done
        lab_a, lab_b = hub.labs(a, b)               # the same for several, servers started together
        lab.run("print(1)")                         # executed in a kernel, as the learner
        hub.login(page, name)                       # the same in Chromium (Playwright page)

Trainers (`formateurs=`) log in with their own password, set before the hub
starts by `incubo hub formateur NAME` as an administrator would
(`hub.trainer_passwords`); `hub.login` and `hub.lab` use it for them, the
room password for everyone else.

Everything lives in a temporary folder readable by the learners' accounts
(pytest's own temporary folders are private to root, which would hide
permission mistakes): hub state, homes, the course directory. Teardown stops
the hub, the proxy and every server, and removes every account the hub
created.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import requests
import websocket
from harness import BIN, free_port, isolated_env, wait_for

PASSWORD = "mot-de-passe-de-la-salle"
#: What JupyterHub logs once started: services up, routes of running servers back in the proxy.
RUNNING = "JupyterHub is now running"


def unique_name(prefix: str = "a") -> str:
    """A hub user name no earlier run can have left behind."""
    return f"{prefix}{secrets.token_hex(3)}"


def room_accounts() -> dict[str, str]:
    """Unique names for the grader, the services account and the trainers' group of one hub."""
    tag = secrets.token_hex(3)
    return {
        "INCUBO_HUB_COMPTE_CORRECTEUR": f"incubo-c{tag}",
        "INCUBO_HUB_COMPTE_SERVICES": f"incubo-s{tag}",
        "INCUBO_HUB_GROUPE_FORMATEURS": f"incubo-f{tag}",
    }


def remove_room_accounts(env: dict[str, str]) -> None:
    """Remove what `room_accounts` named (its processes first), whatever the hub made of it."""
    from incubo.hub import accounts

    for key in ("INCUBO_HUB_COMPTE_CORRECTEUR", "INCUBO_HUB_COMPTE_SERVICES"):
        if env.get(key):
            accounts.remove_account(unix_user=env[key])
    if env.get("INCUBO_HUB_GROUPE_FORMATEURS"):
        accounts.remove_group(env["INCUBO_HUB_GROUPE_FORMATEURS"])


def shared_tmp(prefix: str) -> Path:
    """A temporary folder others may traverse (0755), unlike pytest's 0700 ones."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


class LabClient:
    """A learner's JupyterLab server through the proxy, with their browser's cookies."""

    def __init__(self, hub: Hub, session: requests.Session, name: str) -> None:
        self.hub, self.session, self.name = hub, session, name
        self.base = f"{hub.url}/user/{name}"
        self._kernel: str | None = None

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        headers["X-XSRFToken"] = self.session.cookies.get("_xsrf", path=f"/user/{self.name}/") or ""
        return self.session.request(
            method, f"{self.base}/api{path}", headers=headers, timeout=60, **kwargs
        )

    def save(self, path: str, text: str) -> None:
        r = self.api(
            "PUT", f"/contents/{path}", json={"type": "file", "format": "text", "content": text}
        )
        assert r.status_code in (200, 201), r.text

    def read(self, path: str) -> str | None:
        r = self.api(
            "GET", f"/contents/{path}", params={"content": 1, "type": "file", "format": "text"}
        )
        return r.json()["content"] if r.status_code == 200 else None

    def kernel(self, notebook: str | None = None) -> str:
        """A kernel id: the session of `notebook` (as JupyterLab opens it) or one kernel kept per client."""
        if notebook:
            r = self.api(
                "POST",
                "/sessions",
                json={"path": notebook, "type": "notebook", "kernel": {"name": "python3"}},
            )
            assert r.status_code in (200, 201), r.text
            return r.json()["kernel"]["id"]
        if not self._kernel:
            r = self.api("POST", "/kernels", json={"name": "python3"})
            assert r.status_code == 201, r.text
            self._kernel = r.json()["id"]
        return self._kernel

    def run(self, code: str, *, kernel: str | None = None, timeout: float = 180) -> dict:
        """Execute `code` in a kernel over the websocket; returns {'stdout', 'error'}."""
        return execute(self, kernel or self.kernel(), code, timeout=timeout)


def _send(ws, user: str, msg_type: str, content: dict) -> str:
    msg_id = uuid.uuid4().hex
    header = {
        "msg_id": msg_id,
        "username": user,
        "session": uuid.uuid4().hex,
        "msg_type": msg_type,
        "version": "5.3",
    }
    ws.send(
        json.dumps(
            {
                "header": header,
                "parent_header": {},
                "metadata": {},
                "channel": "shell",
                "content": content,
            }
        )
    )
    return msg_id


def _wait_iopub(ws, user: str, deadline: float) -> None:
    """Ask kernel_info until its iopub status arrives: outputs sent before that would be lost."""
    while time.monotonic() < deadline:
        msg_id = _send(ws, user, "kernel_info_request", {})
        ws.settimeout(2)
        try:
            while True:
                msg = json.loads(ws.recv())
                if (
                    msg.get("channel") == "iopub"
                    and msg.get("parent_header", {}).get("msg_id") == msg_id
                ):
                    return
        except websocket.WebSocketTimeoutException:
            continue
        finally:
            ws.settimeout(max(1.0, deadline - time.monotonic()))
    raise TimeoutError("the kernel's iopub channel never answered")


def execute(lab: LabClient, kernel_id: str, code: str, *, timeout: float = 180) -> dict:
    """Send one execute_request over the kernel's websocket and collect its output."""
    cookies = "; ".join(f"{c.name}={c.value}" for c in lab.session.cookies)
    url = lab.base.replace("http://", "ws://") + f"/api/kernels/{kernel_id}/channels"
    deadline = time.monotonic() + timeout
    ws = None
    while ws is None:  # a kernel just started may not accept its websocket yet
        try:
            ws = websocket.create_connection(url, header=[f"Cookie: {cookies}"], timeout=timeout)
        except (websocket.WebSocketException, OSError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
    try:
        _wait_iopub(ws, lab.name, deadline)
        msg_id = _send(ws, lab.name, "execute_request", {
            "code": code, "silent": False, "store_history": False, "user_expressions": {},
            "allow_stdin": False, "stop_on_error": True,
        })  # fmt: skip
        out: dict = {"stdout": "", "error": None}
        replied = idle = False
        while time.monotonic() < deadline and not (replied and idle):
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out["stdout"] += msg["content"]["text"]
            elif kind == "error":
                out["error"] = msg["content"]["ename"]
            elif kind == "display_data":
                out["display"] = out.get("display", "") + msg["content"]["data"].get(
                    "text/plain", ""
                )
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True  # every output of the request has been sent before this
        if replied and idle:
            return out
        raise TimeoutError(f"no execute_reply after {timeout}s")
    finally:
        ws.close()


class Hub:
    """A running `incubo hub` (started by `start_hub`)."""

    def __init__(self, base: Path, env: dict[str, str], course_dir: Path) -> None:
        self.base, self.env, self.course_dir = base, env, course_dir
        self.port = int(env["INCUBO_HUB_PORT"])
        self.hub_dir = Path(env["INCUBO_HUB_DIR"])
        self.home_base = Path(env["INCUBO_HUB_HOME_BASE"])
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.trainer_passwords: dict[str, str] = {}
        self.runs = 0
        self._running_before = 0

    # --- life cycle ---
    def start(self, timeout: float = 120) -> None:
        """Start `incubo hub`; returns once its API answers (its services may still be starting)."""
        self._running_before = self._running_count()
        self.runs += 1
        log = open(self.base / f"incubo-hub-{self.runs}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(BIN / "incubo"), "hub", "--course-dir", str(self.course_dir)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_for(
                lambda: self.api("GET", "/").status_code == 200,
                timeout=timeout,
                what="hub",
                proc=self.proc,
            )
        except Exception:
            log.flush()
            print(self.log()[-4000:])
            raise

    def _running_count(self) -> int:
        log = self.hub_dir / "logs" / "jupyterhub.log"
        return log.read_text(errors="replace").count(RUNNING) if log.exists() else 0

    def wait_running(self, timeout: float = 120) -> None:
        """Wait for the end of the hub's start: services up, learners' routes back in the proxy."""
        wait_for(
            lambda: self._running_count() > self._running_before,
            timeout=timeout,
            what="JupyterHub fully started",
            proc=self.proc,
        )

    def log(self) -> str:
        return (self.base / f"incubo-hub-{self.runs}.log").read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal `incubo hub` (as systemd or Ctrl+C would) and wait for it; returns its exit code."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)

    # --- REST API as the hub's own service ---
    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        token = (self.hub_dir / "service_token").read_text().strip()
        headers = {"Authorization": f"token {token}"}
        try:
            return requests.request(
                method, f"{self.url}/hub/api{path}", headers=headers, timeout=30, **kwargs
            )
        except requests.ConnectionError:
            return requests.Response()  # status_code None: not up

    def user_model(self, name: str) -> dict:
        return self.api("GET", f"/users/{name}").json()

    # --- users ---
    def new_user(self, prefix: str = "a") -> str:
        return unique_name(prefix)

    def set_trainer_password(self, name: str, password: str | None = None) -> str:
        """`incubo hub formateur NAME` with the password on standard input, as an administrator does."""
        password = password or f"formateur-{secrets.token_urlsafe(12)}"
        proc = subprocess.run(
            [str(BIN / "incubo"), "hub", "formateur", name],
            input=password + "\n", env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        self.trainer_passwords[name.strip().lower()] = password
        return password

    def password_of(self, name: str) -> str:
        """What `name` types: a trainer's own password, else the room's."""
        return self.trainer_passwords.get(name.strip().lower(), PASSWORD)

    def login(self, target, name: str, password: str | None = None):
        """Log in through the hub's form: `target` is a requests.Session or a Playwright page."""
        password = self.password_of(name) if password is None else password
        if isinstance(target, requests.Session):
            target.get(f"{self.url}/hub/login", timeout=30)
            xsrf = target.cookies.get("_xsrf", "")
            return target.post(
                f"{self.url}/hub/login?next=",
                data={"username": name, "password": password, "_xsrf": xsrf},
                timeout=300,
                allow_redirects=False,
            )
        target.goto(f"{self.url}/hub/login")
        target.fill("#username_input", name)
        target.fill("#password_input", password)
        target.click("#login_submit")
        return target

    def lab(self, name: str, password: str | None = None, timeout: float = 240) -> LabClient:
        """Log `name` in, wait for their server, open it (the OAuth round trip) and return a client."""
        session = requests.Session()
        r = self.login(session, name, password)
        assert r.status_code == 302, (r.status_code, r.text[:500])
        self.start_server(name, timeout=timeout)
        r = session.get(
            f"{self.url}/user/{name}/api/status", timeout=60
        )  # sets the server's cookie
        r = session.get(f"{self.url}/user/{name}/lab", timeout=60)
        assert r.status_code == 200, (r.status_code, r.url)
        return LabClient(self, session, name)

    def labs(self, *names: str, timeout: float = 240) -> list[LabClient]:
        """`lab(name)` for several learners at the same time (their servers start together)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            return list(pool.map(lambda name: self.lab(name, timeout=timeout), names))

    def start_server(self, name: str, timeout: float = 240) -> None:
        self.api("POST", f"/users/{name}")
        self.api("POST", f"/users/{name}/server")

        def ready():
            server = (self.user_model(name).get("servers") or {}).get("")
            return bool(server and server.get("ready"))

        wait_for(ready, timeout=timeout, what=f"server of {name}")

    def hub_users(self) -> list[str]:
        db = self.hub_dir / "jupyterhub.sqlite"
        if not db.exists():
            return []
        with contextlib.closing(sqlite3.connect(db)) as conn:
            return [row[0] for row in conn.execute("SELECT name FROM users")]

    def unix_user(self, name: str) -> str:
        from incubo.hub.accounts import unix_name

        return unix_name(name)

    # --- teardown ---
    def teardown(self) -> None:
        """Kill at once everything the hub started, then remove its accounts and its folder.

        Nothing is asserted here, so no graceful stop: the hub stops its services one after
        the other and each learner's server shuts its kernels down (seconds each), while one
        SIGKILL to every process of the room ends it all in a moment. The graceful stops are
        the business of the tests that check them (restart, end of the day).
        """
        from incubo.hub import accounts

        names = self.hub_users()
        self._kill_room(names)
        for name in names:
            accounts.remove_account(name)  # nothing left to stop: useradd's lock, one by one
        remove_room_accounts(self.env)
        from incubo.hub.limits import Cgroups

        Cgroups(Path(self.env["INCUBO_HUB_DIR"])).remove_room()  # the learners' control groups
        shutil.rmtree(self.base, ignore_errors=True)

    def _room_processes(self, names: list[str]) -> list:
        """The hub and its descendants (services), the proxy, every process of its accounts (learners,
        grader, services), and whatever names this hub's folders or runs with its INCUBO_HUB_DIR."""
        import pwd

        import psutil

        found: dict[int, psutil.Process] = {}
        roots = []
        if self.proc is not None and self.proc.poll() is None:
            roots.append(self.proc.pid)
        with contextlib.suppress(OSError, ValueError):
            roots.append(int((self.hub_dir / "proxy.pid").read_text().split()[0]))
        for pid in roots:
            with contextlib.suppress(psutil.Error):
                root = psutil.Process(pid)
                for proc in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        if proc.status() != psutil.STATUS_ZOMBIE:
                            found[proc.pid] = proc
        uids = set()
        system = [
            self.env.get(k) for k in ("INCUBO_HUB_COMPTE_CORRECTEUR", "INCUBO_HUB_COMPTE_SERVICES")
        ]
        for unix in [self.unix_user(name) for name in names] + [u for u in system if u]:
            with contextlib.suppress(KeyError):
                uids.add(pwd.getpwnam(unix).pw_uid)
        marks = (
            str(self.base),
            str(self.course_dir),
        )  # the course may live beside the hub's folder
        for proc in psutil.process_iter(["cmdline", "uids", "status"]):
            with contextlib.suppress(psutil.Error):
                if proc.pid == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
                    continue  # a zombie is dead already: waiting for it would last the timeout
                mine = proc.info["uids"] and proc.info["uids"].real in uids
                if (
                    mine
                    or any(m in arg for arg in proc.info["cmdline"] or [] for m in marks)
                    or proc.environ().get("INCUBO_HUB_DIR") == str(self.hub_dir)
                ):  # the last: services left by a hub stopped while starting them, or that died
                    found[proc.pid] = proc
        return list(found.values())

    def _kill_room(self, names: list[str]) -> None:
        import psutil

        for _ in range(3):  # again if something was started meanwhile (a kernel's restarter)
            procs = self._room_processes(names)
            if not procs:
                return
            for proc in procs:
                with contextlib.suppress(psutil.Error):
                    proc.kill()
            psutil.wait_procs(procs, timeout=10)
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(10)  # reaped: no zombie left behind

    def _kill_leftovers(self) -> None:
        """Stop what the hub left running (services such as the formgrader's server)."""
        self._kill_room(self.hub_users())


def make_course(course_dir: Path) -> None:
    """A minimal nbgrader course directory: a source notebook and a gradebook."""
    (course_dir / "source" / "m1").mkdir(parents=True, exist_ok=True)
    (course_dir / "source" / "m1" / "lecon.ipynb").write_text(
        '{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    )
    (course_dir / "gradebook.db").write_bytes(b"")
    (course_dir / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "incubo"\n'
    )


@contextlib.contextmanager
def start_hub(
    *,
    formateurs: list[str] = (),
    course_dir: Path | None = None,
    extra_env: dict[str, str] | None = None,
    start: bool = True,
) -> Iterator[Hub]:
    """A room hub on free ports in a fresh temporary folder; always stopped and cleaned up."""
    base = shared_tmp("incubo-hub-test-")
    if course_dir is None:
        course_dir = base / "cours"
        make_course(course_dir)
    env = isolated_env(base / "env")
    env.update(
        INCUBO_HUB_DIR=str(base / "hub"),
        INCUBO_HUB_HOME_BASE=str(base / "homes"),
        INCUBO_HUB_AUTH="demo",
        INCUBO_DEMO_PASSWORD=PASSWORD,
        INCUBO_HUB_FORMATEURS=",".join(formateurs),
        INCUBO_HUB_PORT=str(free_port()),
        INCUBO_HUB_API_PORT=str(free_port()),
        INCUBO_HUB_PROXY_API_PORT=str(free_port()),
        INCUBO_COURSE_DIR=str(course_dir),
        # the room's system accounts and trainers' group: unique, removed at teardown
        **room_accounts(),
    )
    env.update(extra_env or {})
    (base / "homes").mkdir()
    (base / "homes").chmod(0o755)
    hub = Hub(base, env, course_dir)
    try:
        if env["INCUBO_HUB_AUTH"] == "demo":
            for name in formateurs:
                hub.set_trainer_password(name)
        if start:
            hub.start()
        yield hub
    finally:
        hub.teardown()
