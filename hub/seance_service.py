"""The séance inside the room's dashboard service: the trainer's API, the projection, the learners' state.

Routes added to `incubo.hub.dashboard`'s app (under `/services/tableau-de-bord/`):

| route | who | what |
| --- | --- | --- |
| `GET seance/etat` | trainers (OAuth) | the open séance, the modules and their quiz banks |
| `POST seance/ouvrir` | trainers (OAuth + xsrf) | `{module, pas_a_pas}` |
| `POST seance/<CODE>/fermer`, `…/etape-suivante`, `…/sondage`, `…/reveler` | trainers | the séance's life |
| `GET seance/<CODE>/projection` | trainers | the page for the room's screen |
| `GET seance/<CODE>/donnees?depuis=N` | trainers | its k-protected view (long poll) |
| `GET seance/apprenant` | learners' servers (Basic, own LRS credentials) | what a learner's lab shows |
| `GET seance/apprenant/optionnel/<nb>` | the same | an optional notebook, once the learner passed the unlocked steps |

The work itself is `incubo.hub.seance_ops`' (the command line calls the same
functions): this module only checks who asks, turns a form into a spec, and
keeps the séance views up to date in the dashboard's `Room` (recomputed with
the room's view; the store is watched each second so a séance changed from the
command line shows too).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyterhub.services.auth import HubOAuthenticated
from tornado import web

from incubo import exercise_data, seance
from incubo.errors import IncuboError
from incubo.hub import lrs_keys, pages, room_view
from incubo.seance import typed_spec
from incubo.seance_view import seance_view

if TYPE_CHECKING:
    from incubo.config import HubSettings
    from incubo.hub.dashboard import Room

log = logging.getLogger(__name__)

CODE = r"([A-Za-z0-9]{4,8})"
#: A projection asked for a séance within this many seconds keeps its view computed.
WATCH_SECONDS = 600.0
#: How often the store is looked at for changes made outside this process (the command line).
STORE_CHECK_SECONDS = 1.0
#: Thirty learners' servers ask every two seconds: the answer is reused this long.
LEARNER_CACHE_SECONDS = 0.5
LONG_POLL_SECONDS = 20.0
T = TypeVar("T")


class FileCache:
    """Values read from one file each, read again only when that file's modification time changes."""

    def __init__(self) -> None:
        self._seen: dict[Path, tuple[int, Any]] = {}

    def get(self, path: Path, read: Callable[[], T]) -> T:
        """`read()`'s value for `path`, kept until the file is written, created or removed."""
        try:
            stamp = path.stat().st_mtime_ns
        except OSError:
            stamp = -1
        cached = self._seen.get(path)
        if cached is None or cached[0] != stamp:
            cached = self._seen[path] = (stamp, read())
        return cached[1]


class Seances:
    """The dashboard process's view of the séances: the views to show, the learners' state."""

    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self.hub_dir = Path(settings.hub_dir)
        self.views: dict[str, dict[str, Any]] = {}
        #: The open séance as the trainer's panel shows it (None: no séance open).
        self.current: dict[str, Any] | None = None
        self.watched: dict[str, float] = {}
        self.signature: tuple = ()
        #: The room's statements at the last recompute (who passed what, for optional notebooks).
        self.statements: list[dict[str, Any]] = []
        self._learner: tuple[float, tuple, bytes] | None = None
        #: What the release's files say (quiz banks, exercises), read again when a file changes.
        self._files = FileCache()

    # --- the store (its one cache is the core's: `incubo.seance.all_seances`) ---
    def store_signature(self) -> tuple:
        """Changes whenever a séance file is written."""
        return seance.store_signature(self.hub_dir)

    def seances(self, signature: tuple) -> dict[str, seance.Seance]:
        """Every séance of the store by code; a file is parsed again only when it changed."""
        return {s.code: s for s in seance.all_seances(self.hub_dir, signature)}

    def load(self, code: str) -> seance.Seance | None:
        try:
            return seance.load(self.hub_dir, code.upper())
        except (IncuboError, OSError, ValueError):
            return None

    def open_seance(self, signature: tuple) -> seance.Seance | None:
        """The open séance (as `seance.current`, from the parsed files kept here)."""
        found = sorted(self.seances(signature).values(), key=lambda s: s.opened_at)
        return next((s for s in reversed(found) if s.is_open), None)

    def watch(self, code: str) -> None:
        self.watched[code.upper()] = time.monotonic()

    # --- views ---
    def recompute(self, statements: list[dict[str, Any]]) -> None:
        """The view of the open séance and of those a projection asked for lately (their statements only)."""
        self.statements = statements
        self.signature = self.store_signature()
        self._learner = None
        now = time.monotonic()
        self.watched = {c: t for c, t in self.watched.items() if now - t < WATCH_SECONDS}
        wanted: dict[str, seance.Seance] = {}
        known = self.seances(self.signature)
        open_one = self.open_seance(self.signature)
        if open_one is not None:
            wanted[open_one.code] = open_one
        for code in self.watched:
            if code not in wanted and code in known:
                wanted[code] = known[code]
        self.current = (
            trainer_state(open_one, self.questions(open_one.module)) if open_one else None
        )
        by_registration: dict[str, list[dict[str, Any]]] = {
            s.registration: [] for s in wanted.values()
        }
        for stmt in statements:
            registration = (stmt.get("context") or {}).get("registration")
            if registration in by_registration:
                by_registration[registration].append(stmt)
        self.views = {
            code: seance_view(s, by_registration[s.registration], self.exercises(s.module))
            for code, s in wanted.items()
        }

    def exercises(self, module: str) -> dict[str, str]:
        """Exercise id → notebook, from the module's release (what « réussie par » counts).

        Read again only when the module's sidecar changes (a rebuild or a release).
        """
        sidecar = Path(self.settings.course_dir) / "release" / module / exercise_data.FILE_NAME

        def read() -> dict[str, str]:
            try:
                return seance.module_info(self.settings.course_dir, module).exercises
            except (IncuboError, OSError, ValueError):
                return {}

        return self._files.get(sidecar, read)

    def view(self, code: str) -> dict[str, Any] | None:
        return self.views.get(code.upper())

    async def watch_store(self, changed: Callable[[], None]) -> None:
        """Call `changed` when a séance was opened, moved or closed by someone else (the CLI)."""
        while True:
            await asyncio.sleep(STORE_CHECK_SECONDS)
            try:
                if self.store_signature() != self.signature:
                    changed()
            except Exception:  # never let the watcher die: the next turn tries again
                log.exception("séance store check failed")

    # --- learners ---
    def optional_notebook(self, learner: str, name: str) -> tuple[int, bytes | str]:
        """(200, the notebook) once `learner` passed every exercise of the unlocked steps; else (status, why).

        Optional notebooks are never on the learner-readable exchange while the séance runs.
        """
        open_one = self.open_seance(self.store_signature())
        stem = name[: -len(".ipynb")] if name.endswith(".ipynb") else name
        if open_one is None or stem not in open_one.optional:
            return 404, "Ce notebook n'est pas un notebook optionnel de la séance en cours."
        exercises = self.exercises(open_one.module)
        needed = {ex for ex, nb in exercises.items() if nb in open_one.unlocked}
        marker = f"/module/{open_one.module}/exercice/"
        passed = {
            str((s.get("object") or {}).get("id", "")).rsplit(marker, 1)[-1]
            for s in self.statements
            if ((s.get("actor") or {}).get("account") or {}).get("name") == learner
            and str((s.get("verb") or {}).get("id", "")).endswith("/passed")
            and marker in str((s.get("object") or {}).get("id", ""))
        }
        if not needed or not needed <= passed:
            return (
                403,
                "Terminez d'abord les exercices des étapes ouvertes : ce notebook s'ouvre ensuite.",
            )
        path = Path(self.settings.course_dir) / "release" / open_one.module / f"{stem}.ipynb"
        try:
            return 200, path.read_bytes()
        except OSError:
            return 404, "Ce notebook est introuvable sur le serveur : prévenez votre formateur."

    def learner_body(self) -> bytes:
        """`{"seance": null | learner_state}` as bytes: read again only when the store changed."""
        now = time.monotonic()
        if self._learner is not None and now - self._learner[0] < LEARNER_CACHE_SECONDS:
            return self._learner[2]
        signature = self.store_signature()
        if self._learner is not None and signature == self._learner[1]:
            self._learner = (now, signature, self._learner[2])
            return self._learner[2]
        open_one = self.open_seance(signature)
        state = open_one.learner_state() if open_one is not None else None
        body = json.dumps({"seance": state}, ensure_ascii=False).encode()
        self._learner = (now, signature, body)
        return body

    def questions(self, module: str) -> list[dict[str, str]]:
        """The module's quiz bank for the panel, read again only when its file changes."""
        path = Path(self.settings.course_dir) / "release" / module / "incubo_quiz.yml"
        return self._files.get(path, lambda: bank_questions(self.settings.course_dir, module))


# --- what the trainer's panel shows ---
def poll_state(poll: Any) -> dict[str, Any]:
    """A poll for the trainer (the correct answer included: the trainer reveals it when they choose)."""
    return {
        "id": poll.id,
        "type": poll.kind,
        "question": poll.question,
        "options": list(poll.options),
        "correcte": poll.correct,
        "bonne_reponse": poll.answer_text(),
        "source": poll.source,
        "revele": bool(poll.revealed),
    }


def trainer_state(
    s: seance.Seance, questions: list[dict[str, str]] | None = None
) -> dict[str, Any]:
    current = s.current_poll
    return {
        "code": s.code,
        "titre": s.title,
        "module": s.module,
        "ouverte": s.is_open,
        "pas_a_pas": s.step_by_step,
        "etapes": [{"notebook": n, "titre": s.step_titles.get(n, n)} for n in s.steps],
        "etape": s.step,
        "debloquees": list(s.unlocked),
        "optionnels": list(s.optional),
        "projection": f"seance/{s.code}/projection",
        "sondage": poll_state(current) if current is not None else None,
        "sondages": len(s.polls),
        "questions": questions or [],
    }


def bank_questions(course_dir: Path | None, module: str) -> list[dict[str, str]]:
    """The module's quiz bank as the panel's select lists it (id, type, question)."""
    if not course_dir:
        return []
    try:
        bank = seance.bank_questions(seance.module_info(course_dir, module))
    except IncuboError:
        return []
    return [
        {
            "id": str(q["id"]),
            "type": seance.KIND_LABELS.get(str(q.get("type")), "mot"),
            "question": str(q.get("question") or ""),
        }
        for q in bank
        if q.get("id") and q.get("question")
    ]


def modules_for_panel(course_dir: Path | None) -> list[dict[str, str]]:
    """The modules a séance can be opened for: those of the course's release."""
    if not course_dir:
        return []
    release = Path(course_dir) / "release"
    return [
        {"id": m, "titre": info.get("titre") or m}
        for m, info in sorted(room_view.course_modules(course_dir).items())
        if (release / m).is_dir()
    ]


# --- handlers ---
class Refused(web.HTTPError):
    """A refusal whose French sentence goes into the JSON body (never into the HTTP status line)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.message = message


class JsonErrors:
    """Errors as `{"erreur": "<French sentence>"}`."""

    MESSAGES = {
        400: "La demande est incomplète ou mal formée.",
        401: "Identifiez-vous pour accéder à la séance.",
        403: "Accès refusé : cette page est réservée aux formateurs de la salle.",
        404: "Cette séance n'existe pas.",
        405: "Cette action n'est pas disponible ainsi.",
    }

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = (kwargs.get("exc_info") or (None, None, None))[1]
        message = (
            exc.message
            if isinstance(exc, Refused)
            else self.MESSAGES.get(status_code, "Erreur du service de séance.")
        )
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"erreur": message}, ensure_ascii=False))


def _fail(status: int, message: str) -> Refused:
    return Refused(status, message)


class TrainerHandler(JsonErrors, HubOAuthenticated, web.RequestHandler):
    def initialize(self, room: Room, seances: Seances) -> None:
        self.room = room
        self.seances = seances

    def reply(self, payload: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload, ensure_ascii=False))

    def json_body(self) -> dict[str, Any]:
        if not self.request.body:
            return {}
        try:
            body = json.loads(self.request.body)
        except ValueError:
            raise _fail(400, "La demande n'est pas un JSON valide.") from None
        if not isinstance(body, dict):
            raise _fail(400, "La demande doit être un objet JSON.")
        return body

    async def act(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Run a `seance_ops` operation off the event loop; its French error becomes a 400."""
        try:
            result = await asyncio.to_thread(operation, self.settings_hub, *args)
        except IncuboError as err:
            raise _fail(400, err.message) from None
        self.room.recompute()  # the projection and the panel show it at once
        return result

    @property
    def settings_hub(self) -> HubSettings:
        return self.seances.settings

    def state(self, code: str) -> dict[str, Any]:
        found = self.seances.load(code)
        if found is None:
            raise _fail(404, f"Aucune séance n'a le code « {code.upper()} ».")
        return trainer_state(found, self.seances.questions(found.module))


class StateHandler(TrainerHandler):
    @web.authenticated
    def get(self) -> None:
        course_dir = self.settings_hub.course_dir
        self.reply(
            {
                "seance": self.seances.current,
                "modules": modules_for_panel(course_dir),
                "types": [{"id": k, "titre": seance.KIND_LABELS[k]} for k in seance.KINDS],
            }
        )


class OpenHandler(TrainerHandler):
    @web.authenticated
    async def post(self) -> None:
        from incubo.hub import seance_ops

        body = self.json_body()
        module = str(body.get("module") or "").strip()
        if not module:
            raise _fail(400, "Choisissez le module de la séance.")
        step_by_step = bool(body.get("pas_a_pas"))
        opened = await self.act(
            lambda settings: seance_ops.open_seance(settings, module, step_by_step=step_by_step)
        )
        self.reply({"seance": self.state(opened.code)}, 201)


class ActionHandler(TrainerHandler):
    @web.authenticated
    async def post(self, code: str, action: str) -> None:
        from incubo.hub import seance_ops

        code = code.upper()
        self.state(code)  # 404 in French for an unknown code
        if action == "fermer":
            await self.act(seance_ops.close_seance, code)
        elif action == "etape-suivante":
            await self.act(seance_ops.next_step, code)
        elif action == "reveler":
            await self.act(seance_ops.reveal_poll, code)
        else:  # sondage
            body = self.json_body()
            if body.get("question_id"):
                spec: dict[str, Any] = {"question_id": str(body["question_id"])}
            else:
                try:
                    spec = typed_spec(body)
                except IncuboError as err:
                    raise _fail(400, err.message) from None
            await self.act(seance_ops.launch_poll, code, spec)
        self.reply({"seance": self.state(code)})


class ProjectionHandler(TrainerHandler):
    """The page for the room's screen (no names: it only ever receives the k-protected view)."""

    def initialize(self, room: Room, seances: Seances, page: str) -> None:  # type: ignore[override]
        super().initialize(room, seances)
        self.page = page

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        web.RequestHandler.write_error(self, status_code, **kwargs)

    @web.authenticated
    def get(self, code: str) -> None:
        code = code.upper()
        if self.seances.load(code) is None:
            self.set_status(404)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(
                '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>Séance inconnue</title>'
                f"</head><body><main><h1>Aucune séance n'a le code « {code} »</h1>"
                "<p>Vérifiez le code sur le tableau de bord de la salle.</p></main></body></html>"
            )
            return
        self.seances.watch(code)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
        )
        self.finish(
            self.page.replace("__CODE__", code).replace("__XSRF__", self.xsrf_token.decode())
        )


class ProjectionDataHandler(TrainerHandler):
    """The séance's k-protected view; `?depuis=N` waits until there is something newer than version N."""

    @web.authenticated
    async def get(self, code: str) -> None:
        code = code.upper()
        try:
            since = int(self.get_argument("depuis", "-1"))
        except ValueError:
            since = -1
        self.seances.watch(code)
        if self.seances.view(code) is None:
            if self.seances.load(code) is None:
                raise _fail(404, f"Aucune séance n'a le code « {code} ».")
            self.room.recompute()  # first ask for a closed séance: compute its view now
        else:
            await self.room.changed_since(since, LONG_POLL_SECONDS)
        view = self.seances.view(code)
        self.reply(dict(view or {}, erreur=self.room.error, version=self.room.version))


class LearnerHandler(web.RequestHandler):
    """For learners' servers (not browsers): HTTP Basic with the learner's own LRS credentials."""

    def initialize(self, seances: Seances, secret: bytes) -> None:
        self.seances = seances
        self.secret = secret

    def check_xsrf_cookie(self) -> None:  # Basic auth, never cookies
        return

    def get(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        caller = lrs_keys.identify(self.secret, self.request.headers.get("Authorization"))
        if caller is None:
            self.set_status(401)
            self.set_header("WWW-Authenticate", 'Basic realm="seance"')
            message = "Identifiants absents ou refusés : seul le serveur d'un apprenant peut suivre la séance."
        elif caller.reader:
            self.set_status(403)
            message = "Les comptes de lecture ne suivent pas la séance : elle est réservée aux apprenants."
        else:
            self.finish(self.seances.learner_body())
            return
        self.finish(json.dumps({"erreur": message}, ensure_ascii=False))


class OptionalHandler(LearnerHandler):
    """`GET seance/apprenant/optionnel/<notebook>`: an optional notebook, for a learner who earned it."""

    def get(self, name: str) -> None:  # type: ignore[override]
        self.set_header("Cache-Control", "no-store")
        caller = lrs_keys.identify(self.secret, self.request.headers.get("Authorization"))
        if caller is None or caller.reader:
            status, body = (
                401,
                "Identifiants absents ou refusés : seul le serveur d'un apprenant peut le demander.",
            )
        else:
            status, body = self.seances.optional_notebook(caller.name, name)
        self.set_status(status)
        if status == 200:
            self.set_header("Content-Type", "application/x-ipynb+json")
            self.finish(body)
            return
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"erreur": body}, ensure_ascii=False))


def routes(prefix: str, room: Room, seances: Seances, secret: bytes) -> list[tuple]:
    """The séance's routes, to add to the dashboard app."""
    page = pages.page("projection.html")
    both = {"room": room, "seances": seances}
    base = prefix + "seance/"
    return [
        (base + "etat", StateHandler, both),
        (base + "ouvrir", OpenHandler, both),
        (base + "apprenant", LearnerHandler, {"seances": seances, "secret": secret}),
        (
            base + r"apprenant/optionnel/([A-Za-z0-9_][A-Za-z0-9_.-]{0,120})",
            OptionalHandler,
            {"seances": seances, "secret": secret},
        ),
        (base + CODE + "/(fermer|etape-suivante|sondage|reveler)", ActionHandler, both),
        (base + CODE + "/projection", ProjectionHandler, dict(both, page=page)),
        (base + CODE + "/donnees", ProjectionDataHandler, both),
    ]


async def watch(room: Room, seances: Seances) -> None:
    """Keep the séance views in step with the store (changes made by `incubo seance …`)."""
    with contextlib.suppress(asyncio.CancelledError):
        await seances.watch_store(room.recompute)
