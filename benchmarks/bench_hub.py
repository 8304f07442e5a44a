"""The benchmarks' JupyterHub, started one way: free ports, its own folder, always stopped.

`jupyterhub()` runs any configuration (the stock hub of benchmarks/hub.py);
`services_hub()` is the light room of benchmarks/dashboard.py and
benchmarks/seance.py: a dummy login (password PASSWORD, a trainer
« formateur ») and incubo's hub services (LRS gate, dashboard, séance) on a
course folder, without learners' servers. The full room with Unix accounts
is tests/hub_support.py's `start_hub`.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402
from harness import BIN, free_port, http_ok, isolated_env, running  # noqa: E402

PASSWORD = "banc-motdepasse"
PROXY = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
SERVICES = """
from pathlib import Path
from types import SimpleNamespace
from incubo.hub.services import configure_services
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = "{password}"
c.Authenticator.allow_all = True
c.JupyterHub.db_url = "sqlite:///{hub_dir}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{hub_dir}/cookie_secret"
c.JupyterHub.load_groups = {{"formgrade-incubo": {{"users": ["formateur"]}}}}
configure_services(c, SimpleNamespace(hub_dir=Path("{hub_dir}"), course_id="incubo",
                   course_dir=Path("{course_dir}"), public_url="{url}"))
"""


@contextlib.contextmanager
def jupyterhub(
    work: Path, config: Callable[[str], str], ready: Callable[[str], bool], timeout: float = 180
) -> Iterator[tuple[str, object]]:
    """JupyterHub run from `work` with config(url) after its ports; yields (url, process) once ready(url)."""
    url = f"http://127.0.0.1:{free_port()}"
    ports = (
        f'c.JupyterHub.bind_url = "{url}"\n'
        f"c.JupyterHub.hub_port = {free_port()}\n"
        f'c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"\n'
        f'c.ConfigurableHTTPProxy.command = ["{PROXY}"]\n'
    )
    (work / "jupyterhub_config.py").write_text(ports + config(url))
    with running(
        [BIN / "jupyterhub", "-f", work / "jupyterhub_config.py"],
        env=isolated_env(work / "env"),
        cwd=work,
        ready=lambda: ready(url),
        timeout=timeout,
        log=work / "hub.log",
    ) as proc:
        yield url, proc


@contextlib.contextmanager
def services_hub(work: Path, hub_dir: Path, course_dir: Path) -> Iterator[SimpleNamespace]:
    """The light room; yields url, gate (the LRS gate's own URL) and the hub's process."""

    def config(url: str) -> str:
        return SERVICES.format(password=PASSWORD, hub_dir=hub_dir, course_dir=course_dir, url=url)

    ports_file = hub_dir / "lrs" / "ports.json"

    def ready(url: str) -> bool:
        return (
            ports_file.exists()
            and http_ok(url + "/hub/api")
            and requests.get(f"{url}/services/lrs/__heartbeat__", timeout=2).status_code == 200
        )

    with jupyterhub(work, config, ready) as (url, proc):
        lrs_port = json.loads(ports_file.read_text())["lrs"]
        yield SimpleNamespace(url=url, gate=f"http://127.0.0.1:{lrs_port}/services/lrs/", proc=proc)


def trainer_page(browser, url: str):
    """A Chromium page logged in to the light room as its trainer, « formateur »."""
    page = browser.new_context(locale="fr-FR", bypass_csp=True).new_page()
    page.goto(url + "/hub/login")
    page.fill("#username_input", "formateur")
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_load_state()
    return page
