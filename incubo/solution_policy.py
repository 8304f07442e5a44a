"""When a learner may see an exercise's solution: one rule, the one learners meet in their notebook.

Authors write it in French (`parcours.yml` or an answer cell's `solution:`
key): `jamais`, `toujours` or `apres-N-essais`. The build stores it in
`incubo_exercices.json` as `{"mode": "jamais|toujours|apres", "essais": N}`.
Whatever the mode, a learner first makes one real attempt (a check that
was not « non tenté »): the solution never replaces trying.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

NEVER, ALWAYS, AFTER = "jamais", "toujours", "apres"
#: Default when parcours.yml says nothing.
DEFAULT = "apres-2-essais"
_AFTER_RE = re.compile(r"apres-(\d+)-essais?")


@dataclass(frozen=True)
class SolutionPolicy:
    """`mode` is `jamais`, `toujours` or `apres`; `attempts` the real attempts `apres` needs."""

    mode: str = AFTER
    attempts: int = 2

    @classmethod
    def parse(cls, value: Any) -> SolutionPolicy:
        """Read what authors write (`jamais | toujours | apres-N-essais`); ValueError otherwise."""
        text = str(value).strip()
        if text in (NEVER, ALWAYS):
            return cls(text, 0)
        m = _AFTER_RE.fullmatch(text)
        if m:
            return cls(AFTER, int(m.group(1)))
        raise ValueError(text)

    @classmethod
    def from_dict(cls, raw: Any) -> SolutionPolicy:
        """Read the stored form; anything unreadable means `jamais` (never show by mistake)."""
        if raw is None or raw == {}:
            return cls(AFTER, 2)
        if isinstance(raw, str):
            try:
                return cls.parse(raw)
            except ValueError:
                return cls(NEVER, 0)
        if not isinstance(raw, dict):
            return cls(NEVER, 0)
        mode = str(raw.get("mode") or NEVER)
        if mode == AFTER:
            try:
                return cls(AFTER, max(1, int(raw.get("essais") or 1)))
            except (TypeError, ValueError):
                return cls(NEVER, 0)
        return cls(mode if mode in (NEVER, ALWAYS) else NEVER, 0)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "essais": self.attempts}

    def refusal(self, real_attempts: int, *, has_solution: bool = True) -> str | None:
        """Why the solution cannot be shown yet (the French sentence the learner reads), or None."""
        if self.mode == NEVER or not has_solution:
            return "La solution de cet exercice n'est pas affichée : demandez de l'aide à votre formateur ou à votre formatrice."
        if real_attempts < 1:
            return (
                "Essayez d'abord : écrivez une réponse, exécutez-la, puis cliquez sur « Vérifier »."
            )
        if self.mode == AFTER and real_attempts < self.attempts:
            left = self.attempts - real_attempts
            return f"La solution s'affichera après {self.attempts} essais vérifiés (encore {left} essai{'s' if left > 1 else ''})."
        return None


def exercise_refusal(exercise: dict[str, Any], real_attempts: int) -> str | None:
    """Why an exercise's solution cannot be shown yet (French), or None: the notebook's and the hub's one rule."""
    policy = SolutionPolicy.from_dict(exercise.get("politique_solution"))
    return policy.refusal(real_attempts, has_solution=bool(exercise.get("solution")))
