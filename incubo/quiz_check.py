"""Judging a quiz answer against a bank question: the one rule the widgets and the hub's pages share.

Kinds: choix-unique, choix-multiple, nombre (with a tolerance), texte
(compared without case, accents or extra spaces). Feedback is French.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

KINDS = ("choix-unique", "choix-multiple", "nombre", "texte")
DEFAULT_TRIES_BEFORE_EXPLANATION = 2


def normalize_text(text: str) -> str:
    """Lower case, no accents, single spaces: « Le  Puy-en-Velay » ~ « le puy-en-velay »."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    no_accents = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", no_accents.casefold()).strip()


def parse_number(text: Any) -> float | None:
    """A number as a French agent types it: « 3,5 », « 1 000 », « -2 »."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        return float(text)
    cleaned = re.sub(r"[\s\u00a0\u202f]", "", str(text)).replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass
class Evaluation:
    success: bool | None  # None: not an answer (empty, not a number); nothing recorded
    feedback: list[str] = field(default_factory=list)
    response: str = ""


@dataclass
class Question:
    """A validated quiz question (see docs/contracts.md, `quiz/<module>.yml`)."""

    id: str
    type: str
    question: str
    options: list[dict[str, Any]] = field(default_factory=list)
    reponse: Any = None
    tolerance: float = 0.0
    explication: str = ""
    essais_avant_explication: int = DEFAULT_TRIES_BEFORE_EXPLANATION

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Question:
        from incubo.errors import IncuboError, suggestion

        kind = str(spec.get("type", "choix-unique"))
        if kind not in KINDS:
            raise IncuboError(
                f"Type de question inconnu : « {kind} ».{suggestion(kind, KINDS)}",
                code="quiz-invalide",
            )
        options = [
            o if isinstance(o, dict) else {"texte": str(o)} for o in spec.get("options") or []
        ]
        if kind.startswith("choix") and not any(o.get("correct") for o in options):
            raise IncuboError(
                f"La question « {spec.get('id')} » n'a aucune option correcte.",
                code="quiz-invalide",
            )
        if kind in ("nombre", "texte") and spec.get("reponse") is None:
            raise IncuboError(
                f"La question « {spec.get('id')} » n'a pas de « reponse ».", code="quiz-invalide"
            )
        return cls(
            id=str(spec.get("id") or "question"),
            type=kind,
            question=str(spec.get("question") or ""),
            options=options,
            reponse=spec.get("reponse"),
            tolerance=float(spec.get("tolerance") or 0.0),
            explication=str(spec.get("explication") or ""),
            essais_avant_explication=int(
                spec.get("essais_avant_explication") or DEFAULT_TRIES_BEFORE_EXPLANATION
            ),
        )

    def evaluate(self, answer: Any) -> Evaluation:
        """Judge one answer: index (choix-unique), indices (choix-multiple), text or number."""
        if self.type == "choix-unique":
            if answer is None or not 0 <= int(answer) < len(self.options):
                return Evaluation(None, ["Choisissez une réponse."])
            opt = self.options[int(answer)]
            ok = bool(opt.get("correct"))
            fb = opt.get("retour") or (
                "Bonne réponse !" if ok else "Ce n'est pas la bonne réponse."
            )
            return Evaluation(ok, [str(fb)], str(opt.get("texte", answer)))
        if self.type == "choix-multiple":
            chosen = sorted({int(i) for i in (answer or [])})
            if not chosen:
                return Evaluation(None, ["Cochez au moins une réponse."])
            correct = {i for i, o in enumerate(self.options) if o.get("correct")}
            ok = set(chosen) == correct
            fb = [str(self.options[i]["retour"]) for i in chosen if self.options[i].get("retour")]
            if not ok:
                wrong = [i for i in chosen if i not in correct]
                missed = correct - set(chosen)
                if wrong:
                    fb.append(
                        f"{len(wrong)} réponse{'s' if len(wrong) > 1 else ''} cochée{'s' if len(wrong) > 1 else ''} à tort."
                    )
                if missed:
                    fb.append("Il manque au moins une bonne réponse.")
            else:
                fb.insert(0, "Bonne réponse !")
            return Evaluation(
                ok, fb, "[,]".join(str(self.options[i].get("texte", i)) for i in chosen)
            )
        if self.type == "nombre":
            value = parse_number(answer) if answer is not None and str(answer).strip() else None
            if value is None:
                return Evaluation(None, ["Écrivez un nombre, par exemple 42 ou 3,5."])
            expected = parse_number(self.reponse)
            ok = expected is not None and abs(value - expected) <= self.tolerance + 1e-9
            fb = (
                "Bonne réponse !"
                if ok
                else (
                    "C'est trop grand."
                    if expected is not None and value > expected
                    else "C'est trop petit."
                )
            )
            return Evaluation(ok, [fb], _fmt(value))
        text = str(answer or "").strip()
        if not text:
            return Evaluation(None, ["Écrivez une réponse."])
        accepted = self.reponse if isinstance(self.reponse, list) else [self.reponse]
        ok = normalize_text(text) in {normalize_text(a) for a in accepted}
        return Evaluation(
            ok, ["Bonne réponse !" if ok else "Ce n'est pas la réponse attendue."], text
        )


def answer_of(choice: Any, cases: Any, entry: Any) -> Any:
    """What a question's inputs hold, as `Question.evaluate` takes it: the chosen option's index
    (`choice`, radio buttons), the indices of the ticked `cases` (checkboxes), else `entry`'s text.
    The quiz widget and « Ma révision du jour » both read their inputs through here."""
    if choice is not None:
        return choice.value
    if cases:
        return [i for i, c in enumerate(cases) if c.value]
    return entry.value if entry is not None else None


def _fmt(x: float) -> str:
    return str(int(x)) if x == int(x) else repr(x)
