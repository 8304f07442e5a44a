"""Memory of one learner's server: stock `jupyter lab` against a learner's server as incubo starts it.

The region's capacity plan (deploy/README.md, « Plan de capacité ») sizes
nodes from this figure. Each side: one JupyterLab server and one Python
kernel that has run a first exercise cell (pandas, ipywidgets, matplotlib
and, for incubo, `incubo.widgets`); memory is PSS summed over the server and
its kernel (shared pages counted fairly). Prints both and the ratio
incubo / stock. Not a test: `python benchmarks/learner_memory.py`.
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psutil  # noqa: E402
import requests  # noqa: E402
from harness import BIN, free_port, isolated_env, running, wait_for  # noqa: E402

CELL = {
    "stock": "import pandas as pd, ipywidgets as w, matplotlib.pyplot as plt\n"
    "df = pd.DataFrame({'a': range(10000)}); df.plot(); w.IntSlider()",
    "incubo": "import pandas as pd, ipywidgets as w, matplotlib.pyplot as plt\nimport incubo.widgets\n"
    "df = pd.DataFrame({'a': range(10000)}); df.plot(); w.IntSlider()",
}
#: what incubo.hub.config adds to a learner's server command line
INCUBO_ARGS = ["--LabApp.news_url=", "--ServerApp.jpserver_extensions=jupyter_lsp=False"]


def pss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        return sum(int(line.split()[1]) for line in fh if line.startswith("Pss:")) / 1024


def measure(kind: str, base: Path) -> float:
    env = isolated_env(base)
    port, token = free_port(), secrets.token_hex(8)
    url, headers = f"http://127.0.0.1:{port}", {"Authorization": f"token {token}"}
    cmd = [BIN / "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
           f"--IdentityProvider.token={token}", "--allow-root", f"--ServerApp.root_dir={base}"]  # fmt: skip
    if kind == "incubo":
        cmd += INCUBO_ARGS
    ready = lambda: requests.get(f"{url}/api/status", headers=headers, timeout=5).ok  # noqa: E731
    with running(cmd, env=env, ready=ready, timeout=120) as proc:
        requests.get(f"{url}/lab", headers=headers, timeout=60)
        kernel = requests.post(
            f"{url}/api/kernels", headers=headers, json={"name": "python3"}, timeout=60
        ).json()
        from jupyter_client import BlockingKernelClient

        cf = Path(env["JUPYTER_RUNTIME_DIR"]) / f"kernel-{kernel['id']}.json"
        wait_for(cf.exists, timeout=60, what="kernel connection file")
        client = BlockingKernelClient(connection_file=str(cf))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(120)
        client.execute_interactive(CELL[kind], timeout=180, output_hook=lambda msg: None)
        client.stop_channels()
        procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        return sum(pss_mb(p.pid) for p in procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"stock": [], "incubo": []}
    with tempfile.TemporaryDirectory(prefix="incubo-mem-") as tmp:
        for n in range(args.runs):
            for kind in results:
                results[kind].append(measure(kind, Path(tmp) / f"{kind}-{n}"))
    stock, ours = min(results["stock"]), min(results["incubo"])
    print(f"stock jupyter lab + kernel : {stock:.0f} MB (PSS)")
    print(f"incubo learner + kernel    : {ours:.0f} MB (PSS)")
    print(f"ratio incubo / stock       : {ours / stock:.2f}")


if __name__ == "__main__":
    main()
