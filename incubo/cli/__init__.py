"""The `incubo` command line: the one place that calls every part."""
