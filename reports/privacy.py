"""Keyed pseudonyms: the research never sees a real identity.

A learner id becomes `p-` + the first 16 hex digits of HMAC-SHA256(key, id).
The key is a secret kept outside the repository: `INCUBO_PSEUDONYM_KEY`, or
the file named by `INCUBO_PSEUDONYM_KEY_FILE`. Without one the reports
refuse to run, except in explicit demo mode (`incubo report --demo`, which
sets `INCUBO_PSEUDONYM_DEMO=1` for the kernel), where a fixed, public demo key
is used — fine for synthetic data, never for real learners.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Iterable
from pathlib import Path

from incubo.config import env_var, project_root, settings
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

ENV_KEY = env_var("pseudonym_key")
ENV_KEY_FILE = env_var("pseudonym_key_file")
ENV_DEMO = env_var("pseudonym_demo")
DEMO_KEY = b"incubo-demo-cle-publique-jamais-pour-des-donnees-reelles"
MIN_KEY_BYTES = 16


def load_key(demo: bool | None = None) -> bytes:
    """The pseudonymisation key; a French error when there is none (outside demo mode)."""
    config = settings()
    if demo is None:
        demo = config.pseudonym_demo
    if config.pseudonym_key:
        key = config.pseudonym_key.encode("utf-8")
    elif config.pseudonym_key_file:
        path = config.pseudonym_key_file.resolve()
        _refuse_key_in_repository(path)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise IncuboError(
                f"Impossible de lire le fichier de clé {path} ({exc.strerror}). Vérifiez {ENV_KEY_FILE}.",
                code="cle-illisible",
            ) from None
    elif demo:
        return DEMO_KEY
    else:
        raise IncuboError(
            f"Aucune clé de pseudonymisation : définissez {ENV_KEY}, ou {ENV_KEY_FILE} (chemin d'un fichier "
            "hors du dépôt), ou ajoutez --demo pour des données de démonstration.",
            code="cle-absente",
        )
    if len(key) < MIN_KEY_BYTES:
        raise IncuboError(
            f"La clé de pseudonymisation est trop courte ({len(key)} octets) : il en faut au moins {MIN_KEY_BYTES}.",
            code="cle-courte",
        )
    return key


def _refuse_key_in_repository(path: Path) -> None:
    root = project_root()
    if (root / ".git").exists() and path.is_relative_to(root):
        raise IncuboError(
            f"Le fichier de clé {path} est dans le dépôt du projet : placez-le ailleurs (il ne doit jamais être versionné).",
            code="cle-dans-depot",
        )


def pseudonym(identifier: str, key: bytes) -> str:
    """A stable pseudonym: the same learner gets the same one in every table and report run with this key."""
    digest = hmac.new(key, identifier.encode("utf-8"), hashlib.sha256).hexdigest()
    return "p-" + digest[:16]


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC-SHA256's inner and outer padded keys, so that SQL can compute `pseudonym()` as two sha256 calls."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def pseudonym_map(identifiers: Iterable[str], key: bytes) -> dict[str, str]:
    return {i: pseudonym(i, key) for i in identifiers if i is not None}
