"""A séance: one guided session of the room, its steps and its live polls, kept on the hub machine.

A séance is opened by a trainer for one module. While it is open, the LRS
gate stamps every learner statement with the séance's `registration` (a
UUID), so research can select one session; trainers unlock the module's
notebooks one step at a time and ask the room questions (polls) whose
answers are xAPI `answered` statements.

The state is one JSON file per séance in `<hub_dir>/seances/` (root only:
a poll's correct answer is in it before it is revealed). Learners see
`Seance.learner_state()`, through the dashboard service, never the file.
At most one séance is open per hub.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from incubo import exercise_data, quiz_bank, xapi
from incubo.errors import IncuboError, suggestion

log = logging.getLogger(__name__)

#: Capital letters and digits that cannot be mistaken for one another when read aloud or on a screen.
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6
FOLDER = "seances"
#: Poll kinds (the quiz bank's « texte » is a poll's « mot »).
KINDS = ("choix-unique", "choix-multiple", "nombre", "mot")
KIND_LABELS = {
    "choix-unique": "choix unique",
    "choix-multiple": "choix multiple",
    "nombre": "nombre",
    "mot": "mot",
}
#: Smallest group the projection shows apart (`INCUBO_SEANCE_K`).
DEFAULT_K = 3
#: How answers to choice polls are written in `result.response` (xAPI interaction format).
CHOICE_SEPARATOR = "[,]"


class SeanceError(IncuboError):
    """A séance request that cannot be carried out (French message)."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def default_k(env: dict[str, str] | None = None) -> int:
    raw = (env if env is not None else os.environ).get("INCUBO_SEANCE_K", "").strip()
    if not raw:
        return DEFAULT_K
    try:
        k = int(raw)
    except ValueError:
        raise SeanceError(
            f"INCUBO_SEANCE_K doit être un nombre entier (reçu « {raw} »).", code="config-invalide"
        ) from None
    if k < 2:
        raise SeanceError(
            "INCUBO_SEANCE_K doit valoir au moins 2 : un groupe d'une personne la désigne.",
            code="config-invalide",
        )
    return k


@dataclass
class Poll:
    """One question asked to the room."""

    id: str
    kind: str
    question: str
    options: list[str] = field(default_factory=list)
    correct: Any = None  # list[int] (choix-*), float (nombre), str (mot), or None
    tolerance: float = 0.0
    source: str | None = None  # quiz bank question id
    launched_at: str = ""
    revealed: bool = False
    closed_at: str | None = None

    def activity(self, seance: Seance) -> str:
        """The object IRI of this poll's `answered` statements."""
        return xapi.activity_id(
            seance.parcours, seance.module, "quiz", f"seance-{seance.code}-{self.id}"
        )

    def answer_text(self) -> str:
        """The correct answer in French, for the room (« » when there is none)."""
        if self.correct is None or self.correct == []:
            return ""
        if self.kind.startswith("choix"):
            return " ; ".join(self.options[i] for i in self.correct if 0 <= i < len(self.options))
        if self.kind == "nombre":
            value = float(self.correct)
            text = f"{value:g}".replace(".", ",")
            return text + (f" (à {self.tolerance:g} près)" if self.tolerance else "")
        return str(self.correct)

    def public(self) -> dict[str, Any]:
        """What a learner may see: the correct answer only once revealed."""
        out: dict[str, Any] = {
            "id": self.id,
            "type": self.kind,
            "question": self.question,
            "options": list(self.options),
            "revele": self.revealed,
            "ouvert": self.closed_at is None,
        }
        if self.revealed:
            out["correct"] = self.correct
            out["bonne_reponse"] = self.answer_text()
        return out

    def parse_answer(self, raw: Any) -> str:
        """A learner's answer as `result.response`; SeanceError (French) when malformed."""
        if self.kind in ("choix-unique", "choix-multiple"):
            values = raw if isinstance(raw, list) else [raw]
            try:
                picked = sorted({int(v) for v in values})
            except (TypeError, ValueError):
                raise SeanceError("Choisissez une des réponses proposées.") from None
            if not picked or any(not 0 <= i < len(self.options) for i in picked):
                raise SeanceError("Choisissez une des réponses proposées.")
            if self.kind == "choix-unique" and len(picked) != 1:
                raise SeanceError("Une seule réponse est attendue.")
            return CHOICE_SEPARATOR.join(str(i) for i in picked)
        if self.kind == "nombre":
            try:
                value = float(str(raw).strip().replace(",", ".").replace(" ", ""))
            except ValueError:
                raise SeanceError("Écrivez un nombre, par exemple 12 ou 3,5.") from None
            if value != value or value in (float("inf"), float("-inf")):
                raise SeanceError("Écrivez un nombre, par exemple 12 ou 3,5.")
            return f"{value:g}"
        word = " ".join(str(raw or "").split())
        if not word:
            raise SeanceError("Écrivez un mot avant d'envoyer.")
        if len(word) > 40:
            raise SeanceError("Votre réponse est trop longue : quelques mots au plus.")
        return word

    def is_correct(self, response: str) -> bool | None:
        """Whether a stored `result.response` is the correct answer (None: no correct answer)."""
        if self.correct is None or self.correct == []:
            return None
        if self.kind.startswith("choix"):
            try:
                picked = sorted(int(v) for v in response.split(CHOICE_SEPARATOR) if v != "")
            except ValueError:
                return False
            return picked == sorted(int(i) for i in self.correct)
        if self.kind == "nombre":
            try:
                return abs(float(response) - float(self.correct)) <= self.tolerance + 1e-9
            except ValueError:
                return False
        return normalise_word(response) == normalise_word(str(self.correct))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Poll:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def normalise_word(text: str) -> str:
    """How two words are compared and grouped: lower case, no accents, single spaces."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in folded if not unicodedata.combining(c)).split())


@dataclass
class Seance:
    """One séance (see the module docstring)."""

    code: str
    registration: str
    module: str
    parcours: str
    title: str
    opened_at: str
    closed_at: str | None = None
    steps: list[str] = field(default_factory=list)
    step_titles: dict[str, str] = field(default_factory=dict)
    step_by_step: bool = False
    step: int = 0
    optional: list[str] = field(default_factory=list)
    polls: list[Poll] = field(default_factory=list)
    active_poll: str | None = None
    k: int = DEFAULT_K

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def unlocked(self) -> list[str]:
        if not self.step_by_step:
            return list(self.steps)
        return self.steps[: self.step + 1]

    @property
    def current_poll(self) -> Poll | None:
        return next((p for p in self.polls if p.id == self.active_poll), None)

    def poll(self, poll_id: str) -> Poll | None:
        return next((p for p in self.polls if p.id == poll_id), None)

    def contains(self, when: datetime) -> bool:
        start, end = parse_time(self.opened_at), parse_time(self.closed_at)
        if start is None or when.tzinfo is None:
            return False
        return start <= when and (end is None or when < end)

    def learner_state(self) -> dict[str, Any]:
        """What every learner's lab is told (no name, no unrevealed answer)."""
        poll = self.current_poll
        return {
            "code": self.code,
            "titre": self.title,
            "module": self.module,
            "parcours": self.parcours,
            "registration": self.registration,
            "pas_a_pas": self.step_by_step,
            "etapes": self.unlocked,
            "titres": {n: self.step_titles.get(n, n) for n in [*self.unlocked, *self.optional]},
            "optionnels": list(self.optional),
            "sondage": poll.public() if poll else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Seance:
        values = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        values["polls"] = [Poll.from_dict(p) for p in data.get("polls") or []]
        return cls(**values)


# --- the store ------------------------------------------------------------------------------


def seances_dir(hub_dir: Path) -> Path:
    return Path(hub_dir) / FOLDER


def _ensure_dir(hub_dir: Path) -> Path:
    folder = seances_dir(hub_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def locked(hub_dir: Path) -> Iterator[None]:
    """One writer at a time (the CLI and the dashboard service may both change a séance)."""
    folder = _ensure_dir(hub_dir)
    with open(folder / ".verrou", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def check_code(code: str) -> str:
    clean = (code or "").strip().upper()
    if not (4 <= len(clean) <= 8) or any(c not in CODE_ALPHABET for c in clean):
        raise SeanceError(
            f"« {code} » n'est pas un code de séance : 4 à 8 lettres capitales ou chiffres, par exemple KT7MQA.",
            code="seance-code-invalide",
        )
    return clean


def save(hub_dir: Path, seance: Seance) -> Path:
    """Write a séance atomically, readable by root only."""
    folder = _ensure_dir(hub_dir)
    path = folder / f"{seance.code}.json"
    tmp = folder / f".{seance.code}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(seance.to_dict(), fh, ensure_ascii=False, indent=1)
    os.replace(tmp, path)
    return path


def read_file(path: Path) -> Seance:
    return Seance.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


#: store_signature's last answer per folder: (folder mtime, when computed, signature), all in ns.
_signatures: dict[str, tuple[int, int, tuple]] = {}
#: A folder unchanged since this long before a signature was taken cannot hide a write from it.
RACY_NS = 2_000_000_000


def store_signature(hub_dir: Path) -> tuple:
    """(name, mtime, inode) of every séance file: changes whenever `save` writes one (os.replace).

    Cheap when nothing changed: while the folder's mtime is the one seen when the signature was
    taken, and that was more than `RACY_NS` before (a write in the same clock tick would not have
    moved it: git's « racily clean » rule), one `stat` of the folder answers.
    """
    folder = seances_dir(hub_dir)
    try:
        folder_mtime = folder.stat().st_mtime_ns
        known = _signatures.get(str(folder))
        if known is not None and known[0] == folder_mtime and known[1] - folder_mtime > RACY_NS:
            return known[2]
        taken = time.time_ns()
        files = []
        for p in folder.glob("*.json"):
            with contextlib.suppress(FileNotFoundError):  # removed since the listing
                st = p.stat()
                files.append((p.name, st.st_mtime_ns, st.st_ino))
    except OSError:
        return ()
    signature = tuple(sorted(files))
    _signatures[str(folder)] = (folder_mtime, taken, signature)
    return signature


#: The store's one cache: file path → ((mtime, inode), the séance parsed from it).
_files: dict[str, tuple[tuple[int, int], Seance]] = {}


def all_seances(hub_dir: Path, signature: tuple | None = None) -> list[Seance]:
    """Every séance of this hub, oldest first (unreadable files are logged and skipped).

    A file is parsed again only when it changed (`store_signature`, computed here when not
    given): the dashboard asks once a second. The séances returned are shared: to change
    one, `load` it (a fresh copy) and `save` it.
    """
    folder = seances_dir(hub_dir)
    found = []
    for name, mtime, inode in store_signature(hub_dir) if signature is None else signature:
        path = str(folder / name)
        cached = _files.get(path)
        if cached is None or cached[0] != (mtime, inode):
            try:
                cached = _files[path] = ((mtime, inode), read_file(folder / name))
            except (OSError, ValueError, TypeError) as exc:
                log.warning("unreadable séance %s: %s", path, exc)
                continue
        found.append(cached[1])
    return sorted(found, key=lambda s: s.opened_at)


def load(hub_dir: Path, code: str, *, also: list[Path] | tuple[Path, ...] = ()) -> Seance:
    """The séance `code` of this hub (or of one of the `also` folders: demo data)."""
    code = check_code(code)
    for folder in (seances_dir(hub_dir), *also):
        path = Path(folder) / f"{code}.json"
        if path.is_file():
            try:
                return read_file(path)
            except (OSError, ValueError, TypeError):
                raise SeanceError(
                    f"Le fichier de la séance {code} ({path}) est illisible.",
                    code="seance-illisible",
                ) from None
    known = [s.code for s in all_seances(hub_dir)]
    for folder in also:
        known += [p.stem for p in Path(folder).glob("*.json")]
    raise SeanceError(
        f"Aucune séance de code « {code} ».{suggestion(code, known)}", code="seance-inconnue"
    )


def current(hub_dir: Path) -> Seance | None:
    """The open séance of this hub, if any."""
    return next((s for s in reversed(all_seances(hub_dir)) if s.is_open), None)


#: registration_at's windows, for the store's signature they were computed from.
_windows_of: dict[tuple[str, tuple], list[tuple[datetime, datetime | None, str]]] = {}


def _windows(hub_dir: Path) -> list[tuple[datetime, datetime | None, str]]:
    signature = store_signature(hub_dir)
    key = (str(seances_dir(hub_dir)), signature)
    if key not in _windows_of:
        _windows_of.clear()
        windows = []
        for s in all_seances(hub_dir, signature):
            start = parse_time(s.opened_at)
            if start is not None:
                windows.append((start, parse_time(s.closed_at), s.registration))
        _windows_of[key] = windows
    return _windows_of[key]


def registration_at(hub_dir: Path, when: datetime | None) -> str | None:
    """The registration of the séance open at `when` (a statement's timestamp), if any; cheap."""
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    for start, end, registration in reversed(_windows(hub_dir)):
        if start <= when and (end is None or when < end):
            return registration
    return None


def new_code(hub_dir: Path) -> str:
    taken = {p.stem for p in seances_dir(hub_dir).glob("*.json")}
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


# --- the module's steps and quiz bank --------------------------------------------------------


@dataclass
class ModuleInfo:
    module: str
    parcours: str
    title: str
    steps: list[str]
    optional: list[str]
    titles: dict[str, str]
    exercises: dict[str, str]  # exercise id → notebook
    folder: Path


def module_info(course_dir: Path, module: str) -> ModuleInfo:
    """A module of the course's release: its steps (notebooks in order), optional notebooks, exercises."""
    release = Path(course_dir) / "release"
    data = exercise_data.read(release / module)
    if data is None:
        known = sorted(p.parent.name for p in release.glob(f"*/{exercise_data.FILE_NAME}"))
        raise SeanceError(
            f"Le module « {module} » n'est pas dans {release}.{suggestion(module, known)} "
            "Lancez d'abord « incubo build ».",
            code="module-inconnu",
        )
    steps, optional, titles = [], [], {}
    for name, meta in data.notebooks.items():
        titles[name] = str((meta or {}).get("titre") or name)
        (optional if (meta or {}).get("optionnel") else steps).append(name)
    title = str(data.extra.get("titre") or data.module)
    return ModuleInfo(
        module=data.module,
        parcours=data.parcours,
        title=title,
        steps=steps,
        optional=optional,
        titles=titles,
        exercises={ex: e.notebook for ex, e in data.exercises.items()},
        folder=release / module,
    )


def bank_question_to_poll(question: dict[str, Any], poll_id: str) -> Poll:
    """A question of the module's quiz bank as a poll."""
    kind = str(question.get("type"))
    options = [
        str(o.get("texte") if isinstance(o, dict) else o) for o in question.get("options") or []
    ]
    correct: Any = None
    tolerance = 0.0
    if kind in ("choix-unique", "choix-multiple"):
        correct = [
            i
            for i, o in enumerate(question.get("options") or [])
            if isinstance(o, dict) and o.get("correct")
        ]
    elif kind == "nombre":
        correct = float(question["reponse"]) if question.get("reponse") is not None else None
        tolerance = float(question.get("tolerance") or 0)
    else:
        kind = "mot"
        answer = question.get("reponse")
        correct = str(answer[0] if isinstance(answer, list) and answer else answer or "") or None
    return Poll(
        id=poll_id,
        kind=kind,
        question=str(question.get("question") or ""),
        options=options,
        correct=correct,
        tolerance=tolerance,
        source=str(question.get("id") or "") or None,
        launched_at=now_iso(),
    )


def typed_poll(spec: dict[str, Any], poll_id: str) -> Poll:
    """A question typed by the trainer on the spot: {type, question, options, correct}."""
    kind = str(spec.get("type") or "").strip()
    if kind not in KINDS:
        raise SeanceError(
            f"Type de question inconnu « {kind} » : choisissez parmi {', '.join(KINDS)}.",
            code="sondage-invalide",
        )
    question = " ".join(str(spec.get("question") or "").split())
    if not question:
        raise SeanceError("Écrivez la question avant de la lancer.", code="sondage-invalide")
    options = spec.get("options") or []
    if isinstance(options, str):
        options = options.splitlines()
    options = [" ".join(str(o).split()) for o in options if str(o).strip()]
    raw = spec.get("correct")
    correct: Any = None
    tolerance = 0.0
    if kind.startswith("choix"):
        if len(options) < 2:
            raise SeanceError(
                "Une question à choix demande au moins deux réponses possibles (une par ligne).",
                code="sondage-invalide",
            )
        if raw not in (None, "", []):
            values = raw if isinstance(raw, list) else str(raw).replace(";", ",").split(",")
            try:
                correct = sorted({int(v) for v in values if str(v).strip() != ""})
            except ValueError:
                raise SeanceError(
                    "La bonne réponse se donne par son numéro (1 pour la première).",
                    code="sondage-invalide",
                ) from None
            if any(not 0 <= i < len(options) for i in correct):
                raise SeanceError(
                    "La bonne réponse doit être l'une des réponses proposées.",
                    code="sondage-invalide",
                )
            if kind == "choix-unique" and len(correct) > 1:
                raise SeanceError(
                    "Une question à choix unique n'a qu'une bonne réponse.", code="sondage-invalide"
                )
    else:
        options = []
        if raw not in (None, ""):
            if kind == "nombre":
                try:
                    correct = float(str(raw).replace(",", ".").strip())
                except ValueError:
                    raise SeanceError(
                        "La bonne réponse d'une question « nombre » doit être un nombre.",
                        code="sondage-invalide",
                    ) from None
                tolerance = float(str(spec.get("tolerance") or 0).replace(",", "."))
            else:
                correct = " ".join(str(raw).split())
    return Poll(
        id=poll_id,
        kind=kind,
        question=question,
        options=options,
        correct=correct,
        tolerance=tolerance,
        launched_at=now_iso(),
    )


def bank_questions(info: ModuleInfo) -> list[dict[str, Any]]:
    """The module's quiz bank (from its release folder), usable as polls."""
    return quiz_bank.read_bank(info.folder / quiz_bank.MODULE_COPY)


def next_poll_id(seance: Seance) -> str:
    return f"q{len(seance.polls) + 1}"


def new_seance(
    hub_dir: Path, info: ModuleInfo, *, step_by_step: bool, k: int | None = None
) -> Seance:
    """A new open séance for `info`'s module (not saved)."""
    steps = info.steps
    return Seance(
        code=new_code(hub_dir),
        registration=str(uuid.uuid4()),
        module=info.module,
        parcours=info.parcours,
        title=info.title,
        opened_at=now_iso(),
        steps=steps,
        step_titles=dict(info.titles),
        step_by_step=step_by_step and len(steps) > 1,
        step=0 if step_by_step and len(steps) > 1 else max(0, len(steps) - 1),
        optional=info.optional,
        k=k or default_k(),
    )


# --- a poll typed on the spot (the dashboard form and `incubo seance sondage`) ---
def typed_spec(body: dict[str, Any]) -> dict[str, Any]:
    """The panel's form → `launch_poll`'s spec: options one per line; a choice's correct answer
    given by its number (« 2 », « 1, 3 », the first is 1) or its text, sent as 0-based indexes."""
    kind = str(body.get("type") or "").strip()
    raw_options = body.get("options") or []
    if isinstance(raw_options, str):
        raw_options = raw_options.splitlines()
    options = [" ".join(str(o).split()) for o in raw_options if str(o).strip()]
    correct: Any = body.get("correct")
    if isinstance(correct, str):
        correct = correct.strip() or None
    if kind.startswith("choix") and correct is not None and options:
        correct = _option_indexes(correct, options)
    return {
        "type": kind,
        "question": str(body.get("question") or ""),
        "options": options,
        "correct": correct,
    }


def _option_indexes(correct: Any, options: list[str]) -> list[int]:
    """Option numbers (« 2 », « 1, 3 ») or texts → 0-based indexes."""
    items = correct if isinstance(correct, list) else re.split(r"[,;]", str(correct))
    out: list[int] = []
    for item in (" ".join(str(i).split()) for i in items):
        if not item:
            continue
        if item.isdigit() and 1 <= int(item) <= len(options):
            out.append(int(item) - 1)
        elif item in options:
            out.append(options.index(item))
        else:
            raise IncuboError(
                f"La bonne réponse « {item} » n'est ni le numéro (de 1 à {len(options)}) ni le texte "
                "d'une des réponses proposées.",
                code="sondage-invalide",
            )
    return sorted(set(out))
