"""The séance in each learner's own server on the hub (`/user/<name>/incubo/seance`).

A Jupyter server extension (turned on by the hub through `JUPYTER_CONFIG_PATH`,
like « Mon parcours », see `incubo.hub.parcours_page`) that the lab panel
`@incubo/labextension:seance` (incubo's JupyterLab extension, built from `labextension/` and
shipped prebuilt in `incubo/share/labextensions`, found through `JUPYTER_PATH`:
`learner_env()`) polls every two seconds:

- `GET incubo/seance`: the room's séance as the dashboard service tells this
  learner (`INCUBO_SEANCE_URL` + `apprenant`, HTTP Basic with the learner's own
  LRS credentials `INCUBO_LRS_AUTH`), cached one second, so thirty labs cost
  the service thirty requests every two seconds at most. While a séance is
  on, every unlocked step missing from the learner's copy of the module
  (`~/<course>/<module>/`) is copied in from the exchange view
  (`~/.incubo/echange/<course>/outbound/<module>/`), never over an existing
  file; the optional notebooks follow once the learner has passed every
  exercise of the unlocked steps.
- `POST incubo/seance/reponse` `{"sondage": id, "reponse": …}`: the answer to the
  poll on screen, checked against it (French 400 otherwise) and recorded as an
  xAPI `answered` statement carrying the séance's registration.

The server runs as the learner: it can read only what the learner can.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado import httpclient, web

import incubo.exchange
from incubo import lrs
from incubo.exchange import VIEW_DIR
from incubo.exercise_data import FILE_NAME as SIDECAR

log = logging.getLogger(__name__)

#: The dashboard service's séance API for learners' servers (`…/services/tableau-de-bord/seance/`).
ENV_SEANCE_URL = "INCUBO_SEANCE_URL"
ENV_COURSE_ID = "INCUBO_COURSE_ID"
#: `incubo/share`: the prebuilt lab extension lives in its `labextensions/@incubo/labextension`.
#: (From a module's file: in a learner's server `incubo` may be a namespace package, with no `__file__`.)
SHARE_DIR = Path(incubo.exchange.__file__).resolve().parent / "share"
LABEXTENSION = SHARE_DIR / "labextensions" / "@incubo" / "labextension"
#: How long one answer of the service is reused (the panel polls every 2 s).
CACHE_SECONDS = 1.0
#: How often the learner's own statements are read to decide on the optional notebooks.
JOURNAL_EVERY, LRS_EVERY = 3.0, 15.0
#: A state of the service older than this is not shown when the service stops answering.
STALE_SECONDS = 30.0
PASSED = "http://adlnet.gov/expapi/verbs/passed"


def learner_env(course_id: str, seance_url: str | None = None) -> dict[str, str]:
    """What a learner's server needs in its environment for the séance panel (for `Spawner.environment`).

    `JUPYTER_PATH` puts `incubo/share` first, so JupyterLab finds
    `labextensions/@incubo/labextension`; `INCUBO_COURSE_ID` names the learner's course
    folder; `INCUBO_SEANCE_URL` (when given) is the service's séance API.
    """
    extra = os.environ.get("JUPYTER_PATH")
    env = {
        "JUPYTER_PATH": os.pathsep.join([str(SHARE_DIR), *([extra] if extra else [])]),
        ENV_COURSE_ID: course_id,
    }
    if seance_url:
        env[ENV_SEANCE_URL] = seance_url
    return env


# --- the service's state ------------------------------------------------------------------------


class Source:
    """The séance as the room's service tells this learner, cached `CACHE_SECONDS`."""

    def __init__(self) -> None:
        self.state: dict[str, Any] | None = None
        self.at = 0.0  # monotonic time of the last good answer
        self.asked = 0.0
        self._pending: asyncio.Future | None = None
        self.problem: str | None = None

    async def get(self, *, fresh: bool = False) -> dict[str, Any] | None:
        if not fresh and time.monotonic() - self.asked < CACHE_SECONDS:
            return self._current()
        if self._pending is not None:  # one request at a time, whoever asks
            await asyncio.shield(self._pending)
            return self._current()
        self._pending = asyncio.get_running_loop().create_future()
        try:
            await self._ask()
        finally:
            self.asked = time.monotonic()
            self._pending.set_result(None)
            self._pending = None
        return self._current()

    def _current(self) -> dict[str, Any] | None:
        if time.monotonic() - self.at > STALE_SECONDS:
            return None
        return self.state

    async def _ask(self) -> None:
        url = (os.environ.get(ENV_SEANCE_URL) or "").strip()
        auth = (os.environ.get("INCUBO_LRS_AUTH") or "").strip()
        if not url:
            self.state, self.at = None, time.monotonic()
            return
        headers = {"Accept": "application/json"}
        if auth:
            headers["Authorization"] = lrs.basic_auth(auth)
        try:
            response = await httpclient.AsyncHTTPClient().fetch(
                httpclient.HTTPRequest(
                    url.rstrip("/") + "/apprenant", headers=headers, request_timeout=5
                )
            )
            body = json.loads(response.body)
            state = body.get("seance") if isinstance(body, dict) else None
            self.state = state if isinstance(state, dict) and state.get("code") else None
            self.at = time.monotonic()
        except httpclient.HTTPClientError as err:
            if err.code in (401, 403):  # not a learner's credentials: no séance for this server
                self.state, self.at = None, time.monotonic()
            self._warn(f"the room's service refused ({err})")
        except Exception as err:  # the last good state stays shown for STALE_SECONDS
            self._warn(f"the room's service does not answer ({err})")
        else:
            self.problem = None

    def _warn(self, problem: str) -> None:
        """Log a problem once, not every second."""
        if problem != self.problem:
            log.warning("séance: %s", problem)
        self.problem = problem


# --- the learner's copy of the module ----------------------------------------------------------


def home_dir() -> Path:
    return Path(os.environ.get("HOME") or os.path.expanduser("~"))


def course_id(home: Path) -> str:
    """`INCUBO_COURSE_ID`, else the only course of the exchange view, else « incubo »."""
    value = (os.environ.get(ENV_COURSE_ID) or "").strip()
    if value:
        return value
    view = home / VIEW_DIR
    courses = sorted(p.name for p in view.iterdir() if p.is_dir()) if view.is_dir() else []
    return courses[0] if len(courses) == 1 else "incubo"


def _stem(name: str) -> str:
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else name


def _copy_new(src: Path, dest: Path) -> bool:
    """Copy `src` to `dest` unless `dest` exists (never overwritten, even if it appears meanwhile)."""
    if dest.exists() or dest.is_symlink():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.partiel")
    if src.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(
            src, tmp, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".*")
        )
        try:
            os.rename(tmp, dest)  # a directory is only replaced when empty: never the learner's
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            return False
        return True
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    shutil.copyfile(src, tmp)
    try:
        os.link(tmp, dest)  # fails when dest exists: the learner's file wins
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    return True


def exercises_of(folder: Path, notebooks: list[str]) -> set[str]:
    """The exercise ids of `notebooks` (stems), from the module's `incubo_exercices.json`."""
    try:
        data = json.loads((folder / SIDECAR).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    wanted = {_stem(n) for n in notebooks}
    return {
        str(ex)
        for ex, meta in (data.get("exercices") or {}).items()
        if isinstance(meta, dict) and _stem(str(meta.get("notebook") or "")) in wanted
    }


def passed_exercises(statements: list[dict[str, Any]], module: str) -> set[str]:
    marker = f"/module/{module}/exercice/"
    found = set()
    for s in statements:
        if str((s.get("verb") or {}).get("id", "")) != PASSED:
            continue
        iri = str((s.get("object") or {}).get("id", ""))
        if marker in iri:
            found.add(iri.rsplit(marker, 1)[1])
    return found


def sync_module(home: Path, course: str, state: dict[str, Any], *, optional_too: bool) -> list[str]:
    """Copy what the learner lacks of the séance's module; return the file names copied now."""
    module = str(state.get("module") or "")
    if not module or "/" in module or module.startswith("."):
        return []
    source = home / VIEW_DIR / course / "outbound" / module
    dest = home / course / module
    if not source.is_dir():
        return []
    wanted = [_stem(str(n)) for n in state.get("etapes") or []]
    if optional_too:
        wanted += [_stem(str(n)) for n in state.get("optionnels") or []]
    copied = []
    for entry in sorted(source.iterdir()):
        if entry.name.startswith(".") or entry.name in ("__pycache__",):
            continue
        if entry.suffix == ".ipynb" and entry.stem not in wanted:
            continue  # a later step, or an optional notebook not earned yet
        try:
            if _copy_new(entry, dest / entry.name):
                copied.append(entry.name)
        except OSError as err:
            log.warning("séance: could not copy %s (%s)", entry, err)
    return copied


async def fetch_optional(home: Path, course: str, state: dict[str, Any]) -> list[str]:
    """Ask the room's séance service for each optional notebook the learner lacks; return those written.

    The service checks in the LRS that this learner passed the unlocked steps; a refusal leaves
    nothing behind (asked again at the next turn).
    """
    url = (os.environ.get(ENV_SEANCE_URL) or "").strip()
    auth = (os.environ.get("INCUBO_LRS_AUTH") or "").strip()
    module = str(state.get("module") or "")
    if not url or not auth or not module or "/" in module or module.startswith("."):
        return []
    dest = module_folder(home, course, module)
    written = []
    for name in [_stem(str(n)) for n in state.get("optionnels") or []]:
        target = dest / f"{name}.ipynb"
        if "/" in name or name.startswith(".") or os.path.lexists(target):
            continue
        headers = {"Authorization": lrs.basic_auth(auth)}
        try:
            response = await httpclient.AsyncHTTPClient().fetch(
                httpclient.HTTPRequest(
                    f"{url.rstrip('/')}/apprenant/optionnel/{name}",
                    headers=headers,
                    request_timeout=10,
                )
            )
        except Exception as err:  # refused (not earned in the LRS yet) or unreachable: next turn
            log.info("séance: optional notebook %s not handed out (%s)", name, err)
            continue
        dest.mkdir(parents=True, exist_ok=True)
        tmp = dest / f".{name}.ipynb.partiel"
        tmp.write_bytes(response.body)
        try:
            os.link(tmp, target)  # the learner's own file, if any appeared meanwhile, wins
            written.append(target.name)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return written


def module_folder(home: Path, course: str, module: str) -> Path:
    return home / course / module


def lab_paths(root: Path, folder: Path, notebooks: list[str]) -> dict[str, str]:
    """Each notebook present in `folder` → its path in the lab (relative to the server's root)."""
    out = {}
    for name in notebooks:
        path = folder / f"{_stem(name)}.ipynb"
        if path.is_file():
            try:
                out[name] = path.resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                continue  # outside what the lab can open
    return out


class Learner:
    """What this server knows of its learner during a séance (one per server)."""

    def __init__(self) -> None:
        self.source = Source()
        self.answers: dict[tuple[str, str], Any] = {}  # (code, poll) → answer as sent
        self._journal_at = 0.0
        self._lrs_at = 0.0
        self._earned: set[str] = set()  # séance codes whose optional notebooks are earned
        self._lrs_passed: set[str] = set()

    async def passed(self, module: str, need_lrs: bool) -> set[str]:
        from incubo import events

        found = set(self._lrs_passed)
        loop = asyncio.get_running_loop()
        found |= passed_exercises(await loop.run_in_executor(None, events.read_jsonl), module)
        url, auth = events.lrs_url(), (os.environ.get("INCUBO_LRS_AUTH") or "").strip()
        if need_lrs and url and auth and time.monotonic() - self._lrs_at >= LRS_EVERY:
            self._lrs_at = time.monotonic()
            try:
                self._lrs_passed = passed_exercises(await passed_statements(url, auth), module)
            except Exception as err:
                log.warning("séance: the LRS does not answer (%s)", err)
            found |= self._lrs_passed
        return found

    async def optional_earned(self, home: Path, course: str, state: dict[str, Any]) -> bool:
        code = str(state.get("code"))
        if code in self._earned:
            return True
        if not state.get("optionnels"):
            return False
        if time.monotonic() - self._journal_at < JOURNAL_EVERY:
            return False
        self._journal_at = time.monotonic()
        module = str(state.get("module"))
        folder = module_folder(home, course, module)
        if not folder.is_dir():
            folder = home / VIEW_DIR / course / "outbound" / module
        needed = exercises_of(folder, list(state.get("etapes") or []))
        if not needed:
            return False  # nothing to finish yet: the optional notebooks wait for exercises
        done = await self.passed(module, need_lrs=False)
        if not needed <= done:
            done = await self.passed(module, need_lrs=True)
        if needed <= done:
            self._earned.add(code)
            return True
        return False

    async def state(self, root: Path, *, fresh: bool = False) -> dict[str, Any] | None:
        state = await self.source.get(fresh=fresh)
        if state is None:
            return None
        home = home_dir()
        course = course_id(home)
        earned = await self.optional_earned(home, course, state)
        loop = asyncio.get_running_loop()
        copied = await loop.run_in_executor(
            None, lambda: sync_module(home, course, state, optional_too=earned)
        )
        if earned:  # optional notebooks are not on the exchange: the room's service hands them out
            copied += await fetch_optional(home, course, state)
        if copied:
            log.info("séance %s: copied %s", state.get("code"), ", ".join(copied))
        folder = module_folder(home, course, str(state.get("module")))
        names = [*(state.get("etapes") or []), *(state.get("optionnels") or [])]
        out = dict(state)
        out["chemins"] = lab_paths(root, folder, [str(n) for n in names])
        poll = state.get("sondage") or None
        out["ma_reponse"] = (
            self.answers.get((str(state.get("code")), str(poll.get("id")))) if poll else None
        )
        return out


async def passed_statements(url: str, auth: str) -> list[dict[str, Any]]:
    """The learner's own statements in the LRS (through the gate: their own only).

    All of them, filtered here: the room's Ralph (file backend) answers a `verb` query with nothing.
    """
    from incubo.hub.parcours_page import own_statements

    return [
        s
        for s in await own_statements(url, auth)
        if str((s.get("verb") or {}).get("id", "")) == PASSED
    ]


# --- answers ------------------------------------------------------------------------------------


class AnswerRefused(Exception):
    """An answer that cannot be recorded (French message, HTTP 400)."""


def answer_statement(state: dict[str, Any], body: Any) -> tuple[dict[str, Any], str]:
    """The `answered` statement of a learner's answer to the séance's current poll, and the response.

    Raises AnswerRefused (French) when the poll is over or the answer malformed.
    """
    from incubo import xapi
    from incubo.config import settings
    from incubo.hub.lrs_gate import COHORT_EXTENSION
    from incubo.seance import Poll, Seance, SeanceError

    if not isinstance(body, dict) or "sondage" not in body or "reponse" not in body:
        raise AnswerRefused("Réponse illisible : envoyez le sondage et votre réponse.")
    poll_state = (state or {}).get("sondage") if state else None
    if not state or not poll_state or str(poll_state.get("id")) != str(body["sondage"]):
        raise AnswerRefused(
            "Ce sondage est terminé : votre réponse n'a pas été enregistrée."
            if state
            else "Aucune séance n'est en cours : votre réponse n'a pas été enregistrée."
        )
    if poll_state.get("ouvert") is False:
        raise AnswerRefused("Ce sondage est terminé : votre réponse n'a pas été enregistrée.")
    poll = Poll(
        id=str(poll_state["id"]),
        kind=str(poll_state.get("type") or ""),
        question=str(poll_state.get("question") or ""),
        options=[str(o) for o in poll_state.get("options") or []],
    )
    try:
        response = poll.parse_answer(body["reponse"])
    except SeanceError as err:
        raise AnswerRefused(str(err)) from None
    seance = Seance(
        code=str(state["code"]),
        registration=str(state.get("registration") or ""),
        module=str(state.get("module") or ""),
        parcours=str(state.get("parcours") or ""),
        title=str(state.get("titre") or ""),
        opened_at="",
    )
    cohort = settings().registration  # a cohort's registration is kept, as the LRS gate keeps it
    stmt = xapi.statement(
        "answered",
        parcours=seance.parcours,
        module=seance.module,
        kind="quiz",
        ident=f"seance-{seance.code}-{poll.id}",
        name_fr=poll.question[:200] or None,
        result={"response": response},
        registration=seance.registration or None,
        extensions={COHORT_EXTENSION: cohort} if cohort and cohort != seance.registration else None,
    )
    assert stmt["object"]["id"] == poll.activity(seance)
    return stmt, response


# --- handlers -----------------------------------------------------------------------------------


class SeanceHandler(APIHandler):
    def initialize(self, learner: Learner) -> None:
        self.learner = learner

    def root(self) -> Path:
        return Path(self.settings.get("server_root_dir") or os.getcwd()).expanduser()

    @web.authenticated
    async def get(self) -> None:
        state = await self.learner.state(self.root())
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"seance": state}, ensure_ascii=False))


class AnswerHandler(APIHandler):
    def initialize(self, learner: Learner) -> None:
        self.learner = learner

    def refuse(self, message: str) -> None:
        self.set_status(400)
        self.finish(json.dumps({"erreur": message}, ensure_ascii=False))

    @web.authenticated
    async def post(self) -> None:
        from incubo import events

        try:
            body = json.loads(self.request.body or b"null")
        except ValueError:
            body = None
        state = await self.learner.source.get(fresh=True)
        try:
            stmt, response = answer_statement(state or {}, body)
        except AnswerRefused as err:
            return self.refuse(str(err))
        stored = await asyncio.get_running_loop().run_in_executor(None, events.record, stmt)
        if not stored:
            self.set_status(500)
            return self.finish(
                json.dumps(
                    {"erreur": "Votre réponse n'a pas pu être enregistrée : réessayez."},
                    ensure_ascii=False,
                )
            )
        self.learner.answers[(str(state["code"]), str(body["sondage"]))] = body["reponse"]
        self.finish(json.dumps({"ok": True, "reponse": response}, ensure_ascii=False))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "incubo.hub.seance_panel"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    base = serverapp.web_app.settings["base_url"]
    learner = Learner()
    serverapp.web_app.add_handlers(
        ".*$",
        [
            (base + "incubo/seance/?", SeanceHandler, {"learner": learner}),
            (base + "incubo/seance/reponse/?", AnswerHandler, {"learner": learner}),
        ],
    )
    serverapp.log.info("« Séance » panel API at %sincubo/seance", base)
    from incubo.hub import release_watch

    home = home_dir()
    release_watch.start(serverapp, home, course_id(home))
