"""What each caller of the room's LRS may write, and on whose authority it is stored.

- A learner writes only statements whose actor is themselves; never a grade
  (`scored`), never a voiding; never an `authority` other than their own.
  Whatever they send, the gate stores it with the learner's authority.
- The grader (`incubo grade autograde` on the hub) writes only grading
  statements (`scored`, `passed`, `failed`) about learners of this hub,
  stored with the grader's authority.

Each refusal names what was wrong in one French sentence; the gate answers
403 with the final-refusal header, so the kernel's spool sets the statement
aside and delivers the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from incubo import authority, xapi

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
SCORED = xapi.VERBS["scored"]
GRADING_VERBS = frozenset(xapi.VERBS[v] for v in ("scored", "passed", "failed"))


@dataclass(frozen=True)
class Refusal:
    """An HTTP answer the gate gives instead of storing: status, French sentence, reason code."""

    status: int
    message: str
    reason: str = ""


NOT_YOURS = Refusal(
    403,
    "Refusé : une déclaration ne peut être enregistrée qu'au nom de la personne connectée.",
    "acteur",
)
NO_GRADES = Refusal(
    403,
    "Refusé : une note (« scored ») n'est enregistrée que par la correction de la salle, "
    "jamais depuis un notebook.",
    "verbe-reserve",
)
NO_VOIDING = Refusal(
    403,
    "Refusé : une déclaration enregistrée ne peut pas être annulée depuis un notebook.",
    "verbe-reserve",
)
NO_AUTHORITY = Refusal(
    403,
    "Refusé : l'autorité d'une déclaration est fixée par le LRS de la salle ; "
    "elle ne peut pas être revendiquée.",
    "autorite",
)
GRADES_ONLY = Refusal(
    403,
    "Refusé : le compte de correction n'enregistre que des notes (scored, passed, failed) "
    "d'apprenants de cette salle.",
    "correction",
)


def own_agent(homepage: str, name: str) -> dict[str, Any]:
    """The actor every statement of learner `name` must carry."""
    return {"objectType": "Agent", "account": {"homePage": homepage, "name": name}}


def _account_of(agent: Any, homepage: str) -> str | None:
    """The hub user name of an Agent identified by an account of this hub only, else None."""
    if not isinstance(agent, dict) or agent.get("objectType", "Agent") != "Agent":
        return None
    if any(k in agent for k in ("mbox", "mbox_sha1sum", "openid", "member")):
        return None
    account = agent.get("account")
    if not isinstance(account, dict):
        return None
    name = account.get("name")
    if not isinstance(name, str) or not name:
        return None
    if str(account.get("homePage", "")).rstrip("/") != homepage.rstrip("/"):
        return None
    return name


def actor_is(stmt: Any, homepage: str, name: str) -> bool:
    """Whether `stmt`'s actor is exactly learner `name` of this hub (no mbox, no group, no other home)."""
    return isinstance(stmt, dict) and _account_of(stmt.get("actor"), homepage) == name


def verb_of(stmt: dict[str, Any]) -> str:
    verb = stmt.get("verb")
    return str(verb.get("id", "")) if isinstance(verb, dict) else ""


def learner_refusal(statements: list[Any], homepage: str, name: str) -> Refusal | None:
    """Why learner `name` may not store these statements, or None when they may."""
    for stmt in statements:
        if not actor_is(stmt, homepage, name):
            return NOT_YOURS
        verb = verb_of(stmt)
        if verb == SCORED:
            return NO_GRADES
        if verb == VOIDED:
            return NO_VOIDING
        if "authority" in stmt and _account_of(stmt["authority"], homepage) != name:
            return NO_AUTHORITY
    return None


def grader_refusal(statements: list[Any], homepage: str) -> Refusal | None:
    """Why the grader may not store these statements, or None when it may."""
    for stmt in statements:
        if not isinstance(stmt, dict) or verb_of(stmt) not in GRADING_VERBS:
            return GRADES_ONLY
        if _account_of(stmt.get("actor"), homepage) is None:
            return GRADES_ONLY
    return None


def set_authority(statements: list[dict[str, Any]], homepage: str, name: str | None) -> None:
    """Stamp each statement with its authority: learner `name`'s, or the grader's when None."""
    stamp = (
        authority.grader_authority(homepage)
        if name is None
        else authority.learner_authority(homepage, name)
    )
    for stmt in statements:
        stmt["authority"] = dict(stamp)
