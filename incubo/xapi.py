"""The one place that builds xAPI 1.0.3 learning statements.

Widgets, grading, apps and reports all go through here, so reports read
one vocabulary (see DESIGN.md, « Learning events »). Sending and storing
statements is `incubo.events`' job, not this module's.
"""

from __future__ import annotations

import getpass
import os
import uuid
from datetime import UTC, datetime
from typing import Any

XAPI_VERSION = "1.0.3"
DEFAULT_ACTIVITY_BASE = "https://incubo.occitanie.local"
DEFAULT_HOMEPAGE = "http://localhost"

_ADL = "http://adlnet.gov/expapi/verbs/"
VERBS: dict[str, str] = {
    "experienced": _ADL + "experienced",  # lesson opened
    "answered": _ADL + "answered",  # quiz or self-assessment answered
    "attempted": _ADL + "attempted",  # verifier() called
    "asked": _ADL + "asked",  # hint shown
    "passed": _ADL + "passed",
    "failed": _ADL + "failed",
    "completed": _ADL + "completed",  # module completed
    "scored": _ADL + "scored",  # grade recorded by autograde
    "viewed": "http://id.tincanapi.com/verb/viewed",  # solution shown
}
VERB_DISPLAY_FR: dict[str, str] = {
    "experienced": "a consulté",
    "answered": "a répondu à",
    "attempted": "a vérifié",
    "asked": "a demandé un indice pour",
    "passed": "a réussi",
    "failed": "a échoué à",
    "completed": "a terminé",
    "scored": "a obtenu une note à",
    "viewed": "a affiché la solution de",
}

_ADL_ACT = "http://adlnet.gov/expapi/activities/"
ACTIVITY_TYPES: dict[str, str] = {
    "parcours": _ADL_ACT + "course",
    "module": _ADL_ACT + "module",
    "lecon": _ADL_ACT + "lesson",
    "exercice": _ADL_ACT + "assessment",
    "quiz": _ADL_ACT + "cmi.interaction",
    "questionnaire": "http://id.tincanapi.com/activitytype/survey",
}


def activity_base() -> str:
    return os.environ.get("INCUBO_ACTIVITY_BASE", DEFAULT_ACTIVITY_BASE).rstrip("/")


def extension(name: str) -> str:
    """IRI of one of our result/context extensions (for example ``verdict``, ``hint-number``)."""
    return f"{activity_base()}/extensions/{name}"


def activity_id(parcours: str, module: str | None = None, kind: str | None = None, ident: str | None = None) -> str:
    """`<base>/parcours/<p>[/module/<m>][/<kind>/<id>]`, kind in exercice, lecon, quiz, questionnaire."""
    iri = f"{activity_base()}/parcours/{parcours}"
    if module:
        iri += f"/module/{module}"
    if kind and ident:
        iri += f"/{kind}/{ident}"
    return iri


def actor(name: str | None = None, homepage: str | None = None) -> dict[str, Any]:
    """The learner: the hub user on a hub, the local user otherwise."""
    name = name or os.environ.get("JUPYTERHUB_USER") or _local_user()
    homepage = (
        homepage
        or os.environ.get("INCUBO_ACTOR_HOMEPAGE")
        or os.environ.get("JUPYTERHUB_PUBLIC_URL")
        or os.environ.get("JUPYTERHUB_HOST")
        or DEFAULT_HOMEPAGE
    )
    if not homepage.startswith(("http://", "https://")):
        homepage = DEFAULT_HOMEPAGE
    return {"objectType": "Agent", "account": {"homePage": homepage, "name": name}}


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "apprenant"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def statement(
    verb: str,
    *,
    parcours: str,
    module: str | None = None,
    kind: str | None = None,
    ident: str | None = None,
    name_fr: str | None = None,
    result: dict[str, Any] | None = None,
    extensions: dict[str, Any] | None = None,
    registration: str | None = None,
    actor_name: str | None = None,
    homepage: str | None = None,
    timestamp: str | None = None,
    statement_id: str | None = None,
) -> dict[str, Any]:
    """One xAPI statement about an activity of a parcours.

    `kind`/`ident` name the object (``"exercice", "ex-filtrer-1"``); without
    them the object is the module (or the parcours). `extensions` are context
    extensions, keyed by short names turned into IRIs by `extension()`.
    """
    if verb not in VERBS:
        raise ValueError(f"unknown verb {verb!r}")
    if kind and kind not in ACTIVITY_TYPES:
        raise ValueError(f"unknown activity kind {kind!r}")
    obj_kind = kind or ("module" if module else "parcours")
    obj_id = activity_id(parcours, module, kind, ident)
    definition: dict[str, Any] = {"type": ACTIVITY_TYPES[obj_kind]}
    if name_fr:
        definition["name"] = {"fr-FR": name_fr}
    stmt: dict[str, Any] = {
        "id": statement_id or str(uuid.uuid4()),
        "actor": actor(actor_name, homepage),
        "verb": {"id": VERBS[verb], "display": {"fr-FR": VERB_DISPLAY_FR[verb]}},
        "object": {"objectType": "Activity", "id": obj_id, "definition": definition},
        "timestamp": timestamp or now(),
    }
    context: dict[str, Any] = {"language": "fr-FR"}
    parents = []
    if kind and module:
        parents.append({"objectType": "Activity", "id": activity_id(parcours, module), "definition": {"type": ACTIVITY_TYPES["module"]}})
    if parents:
        context["contextActivities"] = {"parent": parents}
    if module or kind:
        context.setdefault("contextActivities", {})["grouping"] = [
            {"objectType": "Activity", "id": activity_id(parcours), "definition": {"type": ACTIVITY_TYPES["parcours"]}}
        ]
    registration = registration or os.environ.get("INCUBO_REGISTRATION")
    if registration:
        context["registration"] = registration
    if extensions:
        context["extensions"] = {extension(k): v for k, v in extensions.items()}
    stmt["context"] = context
    if result is not None:
        stmt["result"] = result
    return stmt


def score(raw: float, max_: float) -> dict[str, Any]:
    """An xAPI `result.score` (scaled in [0, 1])."""
    scaled = (raw / max_) if max_ else 0.0
    return {"raw": raw, "min": 0, "max": max_, "scaled": max(0.0, min(1.0, scaled))}
