"""incubo: a Jupyter learning and research-action environment (core and command line)."""

__version__ = "0.1.0"
