"""Solutions stay on the server: stripping released exercise files, and the `solutions` hub service.

On one machine, `incubo_exercices.json` carries each solution (compressed,
base64) and the widget decides locally. On a hub that would hand every
learner every answer, so:

- `strip_solutions` / `strip_release` (in the core, `incubo.released`) remove the solution
  from the exercise files a hub releases (the exchange's release calls it on what goes to
  learners' homes); an exercise keeps its policy, the flag
  `solution_serveur`, and the names the answer must define (the check needs
  them to tell « not attempted » from « wrong »);
- the service (`/services/solutions/`) is asked by `solution()` and the
  « Solution » button with the learner's own LRS credentials. It counts the
  learner's real attempts in the LRS (through the gate, so only theirs),
  applies the parcours' policy, and only then records the `viewed`
  statement and answers with the text. Refusals are one French sentence.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tornado import httpclient, web

from incubo import exercise_data, lrs, xapi
from incubo.exercise_data import FILE_NAME as SIDECAR
from incubo.hub.lrs_keys import identify
from incubo.released import strip_release, strip_solutions  # noqa: F401 - kept here for callers

log = logging.getLogger(__name__)


def source_exercise(
    course_dir: Path, module: str, ex_id: str
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(the module's exercise file, the exercise) from the course's *source* side, where solutions live."""
    if not module or "/" in module or module.startswith("."):
        return None
    path = course_dir / "source" / module / SIDECAR
    try:
        sidecar = exercise_data.read_file(path)
    except (OSError, ValueError):
        return None
    exercise = (sidecar.get("exercices") or {}).get(ex_id)
    return (sidecar, exercise) if isinstance(exercise, dict) else None


def released_to_learners(hub_dir: Path, module: str, exercise: dict[str, Any]) -> bool:
    """Whether the exercise's notebook is on the exchange's outbound side (released, step unlocked).

    A module not released yet, a séance's step not unlocked yet: nothing of it is served.
    The hub has one course; its exchange is `<hub_dir>/exchange/<course>/outbound/`.
    """
    if not module or "/" in module or module.startswith("."):
        return False
    notebook = Path(str(exercise.get("notebook") or "")).stem
    for outbound in (Path(hub_dir) / "exchange").glob("*/outbound"):
        folder = outbound / module
        if not folder.is_dir():
            continue
        if not notebook or (folder / f"{notebook}.ipynb").is_file():
            return True
    return False


def real_attempts(statements: list[dict[str, Any]], module: str, ex_id: str) -> int:
    """Checks that were real attempts (not « nothing written yet ») at one exercise."""
    return sum(
        1
        for s in statements
        if xapi.verb_of(s) == "attempted"
        and xapi.located(s)[1:] == (module, ex_id)
        and xapi.verdict_of(s) not in (None, "non-tente")
    )


class SolutionHandler(web.RequestHandler):
    def initialize(
        self, secret: bytes, gate_url: str, course_dir: Path, homepage: str, hub_dir: Path
    ) -> None:
        self.secret = secret
        self.hub_dir = hub_dir
        self.gate_url = gate_url.rstrip("/") + "/xAPI/statements"
        self.course_dir = course_dir
        self.homepage = homepage

    def check_xsrf_cookie(self) -> None:  # Basic auth from a kernel, never cookies
        return

    def get(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(
            "Service des solutions de la salle : le bouton « Solution » des notebooks l'interroge.\n"
        )

    def answer(self, status: int, **body: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(body, ensure_ascii=False))

    async def _lrs(
        self, method: str, url: str, body: bytes | None = None
    ) -> httpclient.HTTPResponse:
        headers = {"Authorization": self.request.headers["Authorization"], "X-Experience-API-Version": "1.0.3",
                   "Content-Type": "application/json"}  # fmt: skip
        request = httpclient.HTTPRequest(
            url, method=method, headers=headers, body=body, request_timeout=15
        )
        try:
            return await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
        except OSError as err:
            return httpclient.HTTPResponse(request, 599, error=err)

    async def _own_statements(self) -> list[dict[str, Any]] | None:
        # no `verb` filter: Ralph 5.1's file backend compares it to a URL object and never matches
        try:
            return await lrs.read_statements_async(
                self.gate_url, authorization=self.request.headers["Authorization"], timeout=15
            )
        except lrs.LrsError:
            return None

    async def post(self) -> None:
        from incubo.exercise_data import decode_solution
        from incubo.solution_policy import exercise_refusal as solution_refusal

        who = identify(self.secret, self.request.headers.get("Authorization"))
        if who is None or who.reader:
            self.answer(
                401,
                detail="Identifiants refusés : ouvrez le notebook depuis votre session JupyterHub.",
            )
            return
        try:
            asked = json.loads(self.request.body or b"{}")
            module, ex_id = str(asked["module"]), str(asked["exercice"])
        except (ValueError, KeyError, TypeError):
            self.answer(400, detail="Demande de solution illisible.")
            return
        found = source_exercise(self.course_dir, module, ex_id)
        if found is not None and not released_to_learners(self.hub_dir, module, found[1]):
            log.info("solution of %s/%s asked by %s before its release", module, ex_id, who.name)
            found = (
                None  # not released yet: answered as an unknown exercise, nothing of it comes out
            )
        if found is None:
            self.answer(
                404,
                detail=f"L'exercice « {ex_id} » est inconnu du serveur : prévenez votre formateur ou votre formatrice.",
            )
            return
        sidecar, exercise = found
        statements = await self._own_statements()
        if statements is None:
            self.answer(
                503, detail="Le LRS ne répond pas pour l'instant : réessayez dans un instant."
            )
            return
        refusal = solution_refusal(exercise, real_attempts(statements, module, ex_id))
        if refusal:
            log.info("solution of %s/%s refused to %s", module, ex_id, who.name)
            self.answer(403, detail=refusal)
            return
        text = decode_solution(exercise.get("solution"))
        if not text:
            self.answer(
                404,
                detail="La solution n'a pas pu être lue : prévenez votre formateur ou votre formatrice.",
            )
            return
        stmt = xapi.statement(
            "viewed", parcours=str(sidecar.get("parcours") or "hors-parcours"), module=module, kind="exercice", ident=ex_id,
            actor_name=who.name, homepage=self.homepage,
        )  # fmt: skip
        recorded = await self._lrs("POST", self.gate_url, json.dumps([stmt]).encode())
        if recorded.code not in (200, 204):
            self.answer(
                503, detail="La solution n'a pas pu être enregistrée : réessayez dans un instant."
            )
            return
        log.info("solution of %s/%s shown to %s", module, ex_id, who.name)
        self.answer(200, solution=text, declaration=stmt)


def main() -> None:
    """Entry point of the `solutions` hub service (`python -m incubo.hub.solutions`)."""
    from incubo.config import service_settings
    from incubo.hub import lrs_keys, service_loop

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    s = service_settings()

    async def serve() -> None:
        prefix = s.prefix if s.prefix.endswith("/") else s.prefix + "/"
        args = {
            "secret": lrs_keys.gate_secret(s.hub_dir),
            "gate_url": s.lrs_url,
            "course_dir": s.course_dir,
            "homepage": s.homepage,
            "hub_dir": s.hub_dir,
        }
        app = web.Application([(prefix + "?", SolutionHandler, args)])
        bind = urlparse(s.bind_url)
        app.listen(bind.port or 80, bind.hostname or "127.0.0.1", xheaders=True)
        log.info("solutions service on %s", s.bind_url)
        await asyncio.Event().wait()

    service_loop.run(serve)


if __name__ == "__main__":
    main()
