"""Who is a trainer: one definition, read by the spawner, the exchange, the warm-up and the services.

A trainer is a member of the hub group `formgrade-<course>` (nbgrader's own
convention, which the formgrader's and the dashboard's roles already use).
Only the login puts someone in it, and never on a name someone can type or
claim first:

- shared-password room (`INCUBO_HUB_AUTH=demo`): a name listed in
  INCUBO_HUB_FORMATEURS *and* that trainer's own password, set on the hub
  machine by `incubo hub formateur NOM`; the room password never logs a listed
  name in, and a listed name without a password cannot log in at all;
- ProConnect: the agent's e-mail (verified by ProConnect) or their ProConnect
  `sub` listed in INCUBO_HUB_FORMATEURS; never the hub name, which is handed
  out first come from the e-mail's local part.

Everything after the login asks the group (`is_trainer`). Trainers' passwords
are kept hashed (Argon2id, argon2-cffi) in a root-only file of the hub folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

from incubo.errors import IncuboError

log = logging.getLogger(__name__)

#: Trainers' own passwords (Argon2id hashes), in the hub folder, mode 0600.
PASSWORDS_FILE = "formateurs-mots-de-passe.json"
MIN_PASSWORD = 10


def trainer_group(course_id: str) -> str:
    return f"formgrade-{course_id}"


def learner_group(course_id: str) -> str:
    return f"nbgrader-{course_id}"


def room_groups(course_id: str, trainer: bool) -> list[str]:
    """The hub groups the login returns: everyone learns, trainers also grade."""
    groups = [learner_group(course_id)]
    if trainer:
        groups.append(trainer_group(course_id))
    return groups


def _group_names(user) -> list[str]:
    groups = user.get("groups") if isinstance(user, dict) else getattr(user, "groups", None)
    return [getattr(g, "name", g) for g in groups or []]


def is_trainer(user, course_id: str) -> bool:
    """The one test: `user` (hub User/ORM object, or a REST user model) is in `formgrade-<course>`."""
    return trainer_group(course_id) in _group_names(user)


# --- who the login may make a trainer ---


def normalize_name(name: str) -> str:
    """A hub name as the demo login sees it (JupyterHub lower-cases names)."""
    return name.strip().lower()


def listed_name(formateurs: Iterable[str], name: str) -> bool:
    """Shared-password room: is this hub name one of the listed trainers?"""
    return normalize_name(name) in {normalize_name(f) for f in formateurs if f.strip()}


def listed_agent(formateurs: Iterable[str], *, email: str | None, sub: str | None) -> bool:
    """ProConnect: is this agent listed, by verified e-mail (any case) or by `sub` (exactly)?"""
    entries = [f.strip() for f in formateurs if f.strip()]
    emails = {e.lower() for e in entries if "@" in e}
    subs = {e for e in entries if "@" not in e}
    return bool((email and email.strip().lower() in emails) or (sub and str(sub) in subs))


# --- trainers' own passwords (shared-password room) ---


def passwords_file(hub_dir: Path | str) -> Path:
    return Path(hub_dir) / PASSWORDS_FILE


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.error("trainers' passwords file %s unreadable: %s", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def has_password(path: Path | str, name: str) -> bool:
    return bool(_read(Path(path)).get(normalize_name(name)))


def check_password(path: Path | str, name: str, password: str) -> bool | None:
    """True/False for the trainer's own password, None when no password was ever set (blocking: ~0.1 s)."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    stored = _read(Path(path)).get(normalize_name(name))
    if not stored:
        return None
    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def store_password(path: Path | str, name: str, password: str) -> None:
    """Set (or replace) a trainer's password hash; the file stays root-only (0600), written atomically."""
    from argon2 import PasswordHasher

    path = Path(path)
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True)
        os.chmod(path.parent, 0o755)  # as the hub makes it: the exchange lives inside
    digest = PasswordHasher().hash(password)
    lock_fd = os.open(path.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        data = _read(path)
        data[normalize_name(name)] = digest
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                os.fchmod(f.fileno(), 0o600)
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    finally:
        os.close(lock_fd)


def set_password(settings, name: str, password: str) -> str:
    """`incubo hub formateur NOM`: check the request, store the hash; returns the normalised name.

    The rule: only a name listed in INCUBO_HUB_FORMATEURS gets a password (the list says who is a
    trainer, the file only holds their credentials), and only in the shared-password room.
    """
    if settings.auth != "demo":
        raise IncuboError(
            "Avec ProConnect, les formateurs se connectent avec leur compte ProConnect : "
            "inscrivez leur adresse électronique dans INCUBO_HUB_FORMATEURS, sans mot de passe à définir.",
            code="formateur-proconnect",
        )
    name = normalize_name(name)
    if not listed_name(settings.formateurs, name):
        listed = ", ".join(settings.formateurs) or "aucun"
        raise IncuboError(
            f"« {name} » n'est pas dans INCUBO_HUB_FORMATEURS (formateurs : {listed}) : "
            "ajoutez-le à cette variable, pour ce terminal et pour le hub, puis relancez la commande.",
            code="formateur-inconnu",
        )
    if len(password) < MIN_PASSWORD:
        raise IncuboError(
            f"Mot de passe trop court : au moins {MIN_PASSWORD} caractères pour un formateur.",
            code="formateur-mot-de-passe-court",
        )
    if settings.demo_password and password == settings.demo_password:
        raise IncuboError(
            "Ce mot de passe est celui de la salle : choisissez-en un que les apprenants ne connaissent pas.",
            code="formateur-mot-de-passe-salle",
        )
    try:
        store_password(passwords_file(settings.hub_dir), name, password)
    except OSError as exc:
        raise IncuboError(
            f"Impossible d'enregistrer le mot de passe dans {settings.hub_dir} ({exc.strerror}) : "
            "lancez la commande en administrateur (root) sur la machine du hub.",
            code="formateur-ecriture",
        ) from None
    return name
