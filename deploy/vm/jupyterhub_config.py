"""JupyterHub for a room on a VM without TLJH: `jupyterhub -f deploy/vm/jupyterhub_config.py`.

A thin wrapper: the configuration is `incubo.hub.config.configure`, the same
as `incubo hub`, the TLJH plugin (deploy/tljh) and Kubernetes. Settings come
from the environment (INCUBO_HUB_DIR, INCUBO_HUB_AUTH, INCUBO_DEMO_PASSWORD,
INCUBO_HUB_FORMATEURS, INCUBO_COURSE_DIR…: see deploy/README.md). Here
JupyterHub starts configurable-http-proxy itself; prefer `incubo hub`, which
keeps the proxy (and learners' open labs) across hub restarts.
"""

from incubo.hub.config import configure

c = get_config()  # noqa: F821 - provided by JupyterHub
configure(c)
