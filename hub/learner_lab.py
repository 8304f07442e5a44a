"""What a learner's JupyterLab shows on the room's hub, beside nbgrader's tools (`incubo.hub.exchange`).

Written into the learner role's config folder (`<hub_dir>/config/apprenant`) by
`exchange.write_role_configs`; trainers keep JupyterLab as it comes.

- The launcher keeps what a learner needs: a notebook. JupyterLab has no setting to hide a
  launcher tile; the tiles come from the plugins that make those documents, so those plugins are
  turned off for learners (page_config's `disabledExtensions`, JupyterLab's own mechanism): the
  terminal, consoles, the text editor's « Text / Markdown / Python File », Jupytext's formats, the
  contextual help, and what cannot start without them (the debugger, the tooltips of consoles and
  editors). Markdown and CSV files still open in their viewers.
- Voilà's preview (« Render with Voilà », in English, and a page a learner has no use for) is off
  too: the room's apps are opened from « Commencez ici ». So is the extension manager (PyPI
  searches in a side panel): a learner installs nothing into JupyterLab.
- The file browser hides incubo's internal files (`incubo_exercices.json`, `incubo_quiz.yml`…):
  `ContentsManager.hide_globs` only filters listings, so the lessons' widgets, which read their
  sidecars from the disk in the kernel, still find them. Checkpoints are dot-folders, hidden
  already (`allow_hidden` is off); listed here all the same so the intent is written down.
"""

from __future__ import annotations

from typing import Any

#: Lab plugins (or whole packages) turned off for learners.
DISABLED = (
    "@jupyterlab/terminal-extension",
    "@jupyterlab/console-extension",
    "@jupyterlab/fileeditor-extension",
    "@jupyterlab/inspector-extension",
    "jupyterlab-jupytext",
    "@voila-dashboards/jupyterlab-preview",
    "@jupyterlab/extensionmanager-extension",
    # « Cell 2/6 » in the status bar: new in JupyterLab 4.6, in English (not yet in the French pack)
    "@jupyterlab/notebook-extension:cell-counter-status",
    # what needs a console or the text editor, and would fail to start without them
    "@jupyterlab/debugger-extension",
    "@jupyterlab/tooltip-extension:consoles",
    "@jupyterlab/tooltip-extension:files",
)
#: jupyter_server's default hide_globs, then incubo's internal files.
HIDDEN = [
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".DS_Store",
    "*~",
    ".ipynb_checkpoints",
    "incubo_*",
]


def disabled_extensions(role: str) -> dict[str, bool]:
    return {name: True for name in DISABLED} if role == "apprenant" else {}


def server_config(role: str) -> dict[str, Any]:
    return {"ContentsManager": {"hide_globs": HIDDEN}} if role == "apprenant" else {}
