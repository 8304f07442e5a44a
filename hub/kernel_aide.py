"""The kernel's links in JupyterLab's « Aide » menu, in French (an IPython extension).

ipykernel sends its `help_links` (« Python Reference », « NumPy Reference »…, English labels) with
its kernel info, and JupyterLab lists them in its Help menu. The learners' kernel
(`jupyter-data/kernels/python3/kernel.json`) loads this extension, which puts French labels and,
where they exist, the French documentation in their place, before the kernel answers anyone.
"""

from __future__ import annotations

#: What a learner of the parcours uses; the French Python documentation first.
LIENS = [
    {"text": "Documentation de Python (en français)", "url": "https://docs.python.org/fr/3/"},
    {"text": "Tutoriel Python (en français)", "url": "https://docs.python.org/fr/3/tutorial/"},
    {"text": "Documentation de pandas", "url": "https://pandas.pydata.org/docs/"},
    {"text": "Documentation de Matplotlib", "url": "https://matplotlib.org/stable/"},
]


def load_ipython_extension(ipython) -> None:
    kernel = getattr(ipython, "kernel", None)
    if kernel is not None:  # in a terminal IPython there is no kernel and no Help menu
        kernel.help_links = [dict(link) for link in LIENS]
