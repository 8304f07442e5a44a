"""JupyterHub configuration file of `incubo hub` (`jupyterhub -f` this file).

Everything is in `incubo.hub.config.configure` (shared with the VM and
Kubernetes) and `incubo.hub.local.configure_local` (this machine's ports and
proxy). Settings come from the environment (`incubo.config.hub_settings`).
"""

import sys

from incubo.config import hub_settings
from incubo.errors import IncuboError
from incubo.hub.config import configure
from incubo.hub.local import configure_local

c = get_config()  # noqa: F821 - provided by JupyterHub

try:
    _settings = hub_settings()
    configure(c, _settings)
    configure_local(c, _settings)
except IncuboError as exc:
    print(f"Erreur : {exc.message}", file=sys.stderr, flush=True)
    sys.exit(2)
