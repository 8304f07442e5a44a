"""The one base exception of incubo, with stable codes a UI or a test can read."""

from __future__ import annotations


class IncuboError(Exception):
    """A user-facing error: `message` is one French sentence that says what to do next.

    `code` is a stable, machine-readable identifier (for example
    ``"parcours-invalide"``); `exit_code` is what the command line returns.
    """

    def __init__(self, message: str, *, code: str = "erreur", exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


def closest(name: str, choices: list[str] | tuple[str, ...] | set[str]) -> str | None:
    """The closest valid name, for « Vouliez-vous dire … ? » suggestions."""
    import difflib

    found = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.5)
    return found[0] if found else None


def suggestion(name: str, choices) -> str:
    """A French suffix suggesting the closest match, or an empty string."""
    best = closest(name, list(choices))
    return f" Vouliez-vous dire « {best} » ?" if best else ""
