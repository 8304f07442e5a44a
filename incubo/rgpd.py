"""Personal data (RGPD): the notice and its acknowledgements, the research choice, the erasure register.

One store, one folder (`store_dir()`): `INCUBO_RGPD_DIR` when set, else
`<hub dir>/rgpd` on a hub (`INCUBO_HUB_DIR` set, or the VM layout's
`/srv/incubo/hub` present), else `~/.incubo/rgpd` on one machine. It holds:

- `choix.jsonl`: each research choice, appended (agent, included or not, when, who recorded it);
  an agent's choice is their last line;
- `accuses.jsonl`: each acknowledgement of the notice (agent, notice version, when);
- `effacements.jsonl`: the erasure register, one line per erasure, **without the name**
  (date, operator, a keyed hash of the name, what was removed);
- `cle-effacements`: the register's key (random, 0600), so the hash can be checked against
  a name later (« cette personne a-t-elle été effacée ? ») and never be reversed;
- `notice.md` (optional): the operator's own notice, else the default shipped in
  `incubo/share/rgpd/notice.md`.

The research rule (`INCUBO_RECHERCHE_BASE`): `opposition` includes every agent unless
their last choice is « non »; `consentement` excludes every agent unless it is « oui ».
The trainer's own follow-up (dashboard, grades) ignores the choice.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import hmac
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from incubo.config import DEFAULT_HUB_DIR, hub_dir, settings
from incubo.errors import IncuboError
from incubo.secret_files import private_secret

log = logging.getLogger(__name__)

BASES = ("opposition", "consentement")
CHOICES = "choix.jsonl"
ACKS = "accuses.jsonl"
REGISTER = "effacements.jsonl"
REGISTER_KEY = "cle-effacements"
NOTICE = "notice.md"
DEFAULT_NOTICE = Path(__file__).resolve().parent / "share" / "rgpd" / NOTICE
_VERSION = re.compile(r"^version\s*:\s*(\S+)\s*$", re.M)
#: A JSON-Lines line: text (the store's files) or bytes (the LRS's data files).
Line = TypeVar("Line", str, bytes)


def on_hub() -> bool:
    """True when this machine is a room's hub (its state folder is named or present)."""
    return bool(os.environ.get("INCUBO_HUB_DIR", "").strip()) or DEFAULT_HUB_DIR.is_dir()


def store_dir() -> Path:
    """The RGPD store (see the module's docstring for the one rule)."""
    config = settings()
    if config.rgpd_dir:
        return config.rgpd_dir.resolve()
    if on_hub():
        return hub_dir() / "rgpd"
    return Path.home() / ".incubo" / "rgpd"


def research_base() -> str:
    """`INCUBO_RECHERCHE_BASE`, checked: a French error for anything but opposition or consentement."""
    base = settings().recherche_base.strip().lower()
    if base not in BASES:
        raise IncuboError(
            f"INCUBO_RECHERCHE_BASE vaut « {base} » : choisissez « opposition » "
            "(inclus sauf opposition) ou « consentement » (exclu sauf accord).",
            code="base-recherche-invalide",
        )
    return base


def retention_months() -> int:
    months = settings().conservation_mois
    if months < 1:
        raise IncuboError(
            f"INCUBO_CONSERVATION_MOIS vaut {months} : indiquez un nombre de mois d'au moins 1.",
            code="conservation-invalide",
        )
    return months


def operator() -> str:
    """Who runs the command (the real user behind sudo when there is one)."""
    name = os.environ.get("SUDO_USER")
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "?"


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- the store's files ------------------------------------------------------------------------


def _owned_like(fd: int, folder: Path) -> None:
    """A file root creates in the store goes to the store's owner (the hub's services account).

    On a hub the store is the services account's (the LRS gate writes learners' choices there);
    `incubo rgpd …` run by root must not leave a file that account can no longer append to.
    """
    if os.geteuid() != 0:
        return
    st = os.stat(folder)
    if st.st_uid != 0 and os.fstat(fd).st_uid != st.st_uid:
        os.fchown(fd, st.st_uid, st.st_gid)


@contextlib.contextmanager
def _locked() -> Iterator[Path]:
    """The store, locked against another `incubo rgpd` or a hub page writing at the same time."""
    folder = store_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(folder / ".verrou", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        _owned_like(fd, folder)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield folder
    finally:
        os.close(fd)


def _read(name: str) -> list[dict]:
    path = store_dir() / name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:  # never read « nobody objected » from a store this account cannot open
        raise IncuboError(
            f"Le registre RGPD {path} est illisible ({exc.strerror}) : lancez la commande avec un "
            "compte qui peut le lire (les choix des agents doivent être respectés).",
            code="registre-rgpd-illisible",
        ) from None
    rows = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            row = json.loads(line)
            if isinstance(row, dict):
                rows.append(row)
    return rows


def _append(folder: Path, name: str, row: dict) -> None:
    fd = os.open(folder / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    _owned_like(fd, folder)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")


def filter_rows(lines: Iterable[Line], keep: Callable[[dict], bool]) -> tuple[list[Line], int]:
    """The JSON-Lines `lines` without the rows `keep` refuses (a line that is no JSON object stays),
    and how many went."""
    kept, removed = [], 0
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:
            kept.append(line)
            continue
        if isinstance(row, dict) and not keep(row):
            removed += 1
        else:
            kept.append(line)
    return kept, removed


def _rewrite(folder: Path, name: str, keep: Callable[[dict], bool]) -> int:
    """Rewrite one store file without the rows `keep` refuses; the number of rows removed."""
    path = folder / name
    if not path.is_file():
        return 0
    kept, removed = filter_rows(path.read_text(encoding="utf-8").splitlines(), keep)
    if removed:
        tmp = folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        _owned_like(fd, folder)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("".join(line + "\n" for line in kept))
        os.replace(tmp, path)
    return removed


# --- the research choice ----------------------------------------------------------------------


def record_choice(agent: str, included: bool, *, source: str = "formateur") -> dict:
    """Record an agent's research choice (`source`: formateur for a paper request, agent for « Mon parcours »)."""
    row = {
        "agent": agent,
        "recherche": bool(included),
        "quand": now_iso(),
        "source": source,
        "par": operator() if source == "formateur" else agent,
    }
    with _locked() as folder:
        _append(folder, CHOICES, row)
    return row


def choices() -> dict[str, bool]:
    """Every agent's current choice (their last line): True included, False excluded."""
    current: dict[str, bool] = {}
    for row in _read(CHOICES):
        if row.get("agent"):
            current[str(row["agent"])] = bool(row.get("recherche"))
    return current


def choice_history(agent: str) -> list[dict]:
    return [row for row in _read(CHOICES) if row.get("agent") == agent]


@dataclass(frozen=True)
class ResearchRule:
    """Who the research reports leave out: the base and the choices recorded."""

    base: str
    choices: dict[str, bool]

    def included(self, agent: str) -> bool:
        value = self.choices.get(agent)
        if self.base == "consentement":
            return value is True
        return value is not False

    @property
    def objected(self) -> set[str]:
        return {a for a, v in self.choices.items() if v is False}

    @property
    def consented(self) -> set[str]:
        return {a for a, v in self.choices.items() if v is True}


def research_rule() -> ResearchRule:
    return ResearchRule(research_base(), choices())


def excluded_phrase(n: int, k: int) -> str:
    """« 1 personne exclue », « 12 personnes exclues », « < 5 personnes exclues » when 0 < n < k."""
    if n <= 0:
        return "aucune personne exclue"
    if n < k:
        return f"< {k} personnes exclues"
    return "1 personne exclue" if n == 1 else f"{n} personnes exclues"


def excluded_sentence(n: int, k: int, base: str) -> str:
    """The sentence every research report prints about the agents left out (plain text)."""
    why = (
        "ceux qui se sont opposés à l’usage de leurs traces pour la recherche"
        if base == "opposition"
        else "ceux qui n’ont pas donné leur accord à l’usage de leurs traces pour la recherche"
    )
    return (
        f"Choix des agents : {excluded_phrase(n, k)} de ce rapport ({why}) ; "
        "leurs données ne figurent dans aucun tableau ni aucune figure."
    )


# --- the notice and its acknowledgements ------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    version: str
    text: str
    path: Path


def notice() -> Notice:
    """The information notice: the operator's `<store>/notice.md`, else the default; placeholders filled."""
    path = store_dir() / NOTICE
    if not path.is_file():
        path = DEFAULT_NOTICE
    raw = path.read_text(encoding="utf-8")
    head, body = "", raw
    if raw.startswith("---\n") and "\n---" in raw[3:]:
        head, body = raw[4:].split("\n---", 1)
        body = body.split("\n", 1)[1] if "\n" in body else ""
    found = _VERSION.search(head)
    version = found.group(1) if found else hashlib.sha256(raw.encode()).hexdigest()[:12]
    body = body.lstrip("\n")
    config = settings()
    contact = config.rgpd_contact.strip() or "le responsable de la formation de votre service"
    months = config.conservation_mois
    base = config.recherche_base.strip().lower()
    rule = (
        "vos traces servent à la recherche sauf si vous vous y opposez"
        if base != "consentement"
        else "vos traces ne servent à la recherche que si vous l’acceptez"
    )
    text = (
        body.replace("{contact}", contact)
        .replace("{conservation_mois}", str(months))
        .replace("{base_recherche}", rule)
    )
    return Notice(version, text, path)


def acknowledge(agent: str, version: str | None = None) -> dict:
    row = {"agent": agent, "version": version or notice().version, "quand": now_iso()}
    with _locked() as folder:
        _append(folder, ACKS, row)
    return row


def acknowledgements(agent: str) -> list[dict]:
    return [row for row in _read(ACKS) if row.get("agent") == agent]


def needs_notice(agent: str) -> bool:
    """True until the agent has acknowledged the current version of the notice."""
    version = notice().version
    return not any(row.get("version") == version for row in acknowledgements(agent))


def inform_once(agent: str) -> str | None:
    """The notice's text the first time `agent` meets this version (then recorded as shown), else None.

    For a terminal's first screen (`make run`): showing the notice is informing (art. 13); the
    line recorded says which version was shown, and when.
    """
    current = notice()
    if any(row.get("version") == current.version for row in acknowledgements(agent)):
        return None
    acknowledge(agent, current.version)
    return current.text


def known_agents() -> set[str]:
    return {str(r["agent"]) for r in _read(CHOICES) + _read(ACKS) if r.get("agent")}


def forget(agent: str) -> int:
    """Remove the agent's choices and acknowledgements from the store (erasure); rows removed."""
    with _locked() as folder:
        return sum(
            _rewrite(folder, name, lambda row: row.get("agent") != agent)
            for name in (CHOICES, ACKS)
        )


# --- the erasure register ---------------------------------------------------------------------


def _register_key(folder: Path) -> bytes:
    key = private_secret(folder / REGISTER_KEY, on_create=lambda fd: _owned_like(fd, folder))
    return key.encode()


def erasure_hash(agent: str) -> str:
    """The keyed hash the register keeps instead of a name (not the research pseudonym)."""
    with _locked() as folder:
        key = _register_key(folder)
    return "h-" + hmac.new(key, b"effacement:" + agent.encode("utf-8"), hashlib.sha256).hexdigest()


def register_erasure(agent: str, removed: dict[str, int]) -> dict:
    """Append an entry to the erasure register: date, operator, keyed hash, counts; never the name."""
    digest = erasure_hash(agent)
    row = {"quand": now_iso(), "operateur": operator(), "empreinte": digest, "supprime": removed}
    with _locked() as folder:
        _append(folder, REGISTER, row)
    return row


def erasures() -> list[dict]:
    return _read(REGISTER)


def was_erased(agent: str) -> bool:
    digest = erasure_hash(agent)
    return any(row.get("empreinte") == digest for row in erasures())
