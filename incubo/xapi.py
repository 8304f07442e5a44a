"""The one place that builds xAPI 1.0.3 learning statements.

Widgets, grading, apps and reports all go through here, so reports read
one vocabulary (docs/contracts.md, « Learning events »). Sending and storing
statements is `incubo.events`' job, not this module's.
"""

from __future__ import annotations

import getpass
import os
import uuid
from datetime import UTC, datetime
from typing import Any

from incubo.config import DEFAULT_ACTIVITY_BASE, settings

XAPI_VERSION = "1.0.3"
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
    return (settings().activity_base or DEFAULT_ACTIVITY_BASE).rstrip("/")


def extension(name: str) -> str:
    """IRI of one of our result/context extensions (for example ``verdict``, ``hint-number``)."""
    return f"{activity_base()}/extensions/{name}"


def activity_id(
    parcours: str, module: str | None = None, kind: str | None = None, ident: str | None = None
) -> str:
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
        or settings().actor_homepage
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
        parents.append(
            {
                "objectType": "Activity",
                "id": activity_id(parcours, module),
                "definition": {"type": ACTIVITY_TYPES["module"]},
            }
        )
    if parents:
        context["contextActivities"] = {"parent": parents}
    if module or kind:
        context.setdefault("contextActivities", {})["grouping"] = [
            {
                "objectType": "Activity",
                "id": activity_id(parcours),
                "definition": {"type": ACTIVITY_TYPES["parcours"]},
            }
        ]
    registration = registration or settings().registration
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


# --- reading statements (the one set of accessors every part uses) --------------------------------


def verb_of(stmt: dict[str, Any]) -> str:
    """The verb's short name (`attempted`, `passed`…), whatever IRI namespace it came from."""
    return str((stmt.get("verb") or {}).get("id", "")).rsplit("/", 1)[-1]


def learner_of(stmt: dict[str, Any]) -> str:
    """The actor's account name (hub user name), else its name or mbox; « ? » when there is none."""
    actor_ = stmt.get("actor") or {}
    return str(
        (actor_.get("account") or {}).get("name") or actor_.get("name") or actor_.get("mbox") or "?"
    )


def object_iri(stmt: dict[str, Any]) -> str:
    return str((stmt.get("object") or {}).get("id", ""))


def object_tail(stmt: dict[str, Any]) -> str:
    """`<kind>/<id>` of the object (`exercice/ex-1`, `module/m-1`), the IRI itself when shorter."""
    parts = object_iri(stmt).rsplit("/", 2)
    return "/".join(parts[-2:]) if len(parts) >= 3 else object_iri(stmt)


def iri_segments(stmt: dict[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    """The segment after each of `names` in the object IRI (`…/module/m/quiz/q` → {module: m, quiz: q})."""
    parts = object_iri(stmt).split("/")
    found: dict[str, str] = {}
    for key in names:
        if key in parts:
            i = parts.index(key)
            if i + 1 < len(parts):
                found[key] = parts[i + 1]
    return found


def located(stmt: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(parcours, module, exercise) from the object IRI `…/parcours/p/module/m/exercice/e`."""
    found = iri_segments(stmt, ("parcours", "module", "exercice"))
    return found.get("parcours"), found.get("module"), found.get("exercice")


def extension_of(stmt: dict[str, Any], name: str) -> Any:
    """A context extension by its short name (`verdict`, `hint-number`), under any activity base."""
    for key, value in ((stmt.get("context") or {}).get("extensions") or {}).items():
        if key.rsplit("/", 1)[-1] == name:
            return value
    return None


def verdict_of(stmt: dict[str, Any]) -> str | None:
    """The check's verdict (`non-tente | incorrect | erreur | correct`), else from `result.success`."""
    value = extension_of(stmt, "verdict")
    if value is not None:
        return str(value)
    success = (stmt.get("result") or {}).get("success")
    return None if success is None else ("correct" if success else "incorrect")


def timestamp_of(stmt: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(stmt.get("timestamp", "")).replace("Z", "+00:00"))
    except ValueError:
        return None
