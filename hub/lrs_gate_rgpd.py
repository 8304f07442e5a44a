"""The gate's RGPD door: each learner reads the notice and records their own acknowledgement and research choice.

The RGPD store (`incubo.rgpd`, `<hub>/rgpd`) is the services account's: a learner's
server cannot write it, and must not (a learner would then write anyone's choice).
The gate already knows who speaks (the learner's own credential, as for statements),
so it is the one writer for learners, always under the caller's own name:

- `GET  <prefix>rgpd`: the notice (version, text), whether the caller still has to read it,
  the research basis and whether the caller is included;
- `POST <prefix>rgpd/accuse` `{"version": …}`: the caller has read that version
  (refused when it is not the current one: the page was stale);
- `POST <prefix>rgpd/recherche` `{"inclus": true|false}`: the caller's research choice;
- `GET  <prefix>rgpd/donnees`: the caller's own rows of the store, never anyone else's (their
  research choices and acknowledgements of the notice, for their archive in « Mes données »).

Readers (`formateurs`, `recherche`) and the grader have no name of their own here: 403.
A trainer records a paper request with `incubo rgpd recherche`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from incubo.hub.lrs_keys import Caller, identify

log = logging.getLogger(__name__)


def state(agent: str) -> dict[str, Any]:
    """What a learner's page shows: the notice and the learner's own choices."""
    from incubo import rgpd

    notice = rgpd.notice()
    rule = rgpd.research_rule()
    return {
        "version": notice.version,
        "texte": notice.text,
        "a_lire": rgpd.needs_notice(agent),
        "base": rule.base,
        "inclus": rule.included(agent),
    }


def own_rows(agent: str) -> dict[str, list[dict]]:
    """The learner's own rows of the store: their research choices and acknowledgements."""
    from incubo import rgpd

    return {
        "choix_recherche": rgpd.choice_history(agent),
        "accuses_notice": rgpd.acknowledgements(agent),
    }


def acknowledge(agent: str, version: str) -> dict[str, Any]:
    from incubo import rgpd

    rgpd.acknowledge(agent, version)
    return state(agent)


def choose(agent: str, included: bool) -> dict[str, Any]:
    from incubo import rgpd

    rgpd.record_choice(agent, included, source="agent")
    return state(agent)


def handlers(prefix: str, gate: Any) -> list:
    from incubo.hub.lrs_gate import BaseHandler

    class RgpdHandler(BaseHandler):
        def learner(self) -> Caller | None:
            who = identify(self.gate.secret, self.request.headers.get("Authorization"))
            if who is None:
                self.set_header("WWW-Authenticate", 'Basic realm="LRS de la salle"')
                self.refuse(401, "Identifiants absents ou refusés par le LRS de la salle.")
                return None
            if who.reader or who.grader:
                self.refuse(403, "Seul un agent enregistre sa lecture de la notice et son choix.")
                return None
            return who

        def answer(self, body: dict[str, Any]) -> None:
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(json.dumps(body, ensure_ascii=False))

        async def get(self, what: str | None = None) -> None:
            who = self.learner()
            if who is None:
                return
            if what == "donnees":
                self.answer(await asyncio.to_thread(own_rows, who.name))
                return
            if what:
                self.refuse(405, "Lecture seule : utilisez POST.")
                return
            self.answer(await asyncio.to_thread(state, who.name))

        async def post(self, what: str | None = None) -> None:
            from incubo import rgpd

            who = self.learner()
            if who is None:
                return
            wait = self.gate.rate.request(who.name)
            if wait:
                from incubo.hub.lrs_gate import TOO_FAST

                self.set_header("Retry-After", str(wait))
                self.refuse(429, TOO_FAST.format(n=wait))
                return
            try:
                body = json.loads(self.request.body or b"{}")
            except ValueError:
                body = None
            if not isinstance(body, dict):
                self.refuse(400, "Le corps de la requête n'est pas un objet JSON.")
                return
            if what == "accuse":
                version = body.get("version")
                current = await asyncio.to_thread(lambda: rgpd.notice().version)
                if version != current:
                    self.refuse(409, "La notice a changé : relisez-la avant de confirmer.")
                    return
                result = await asyncio.to_thread(acknowledge, who.name, current)
                log.info("notice %s acknowledged by %s", current, who.name)
            elif what == "recherche":
                included = body.get("inclus")
                if not isinstance(included, bool):
                    self.refuse(400, "Indiquez « inclus » : true ou false.")
                    return
                result = await asyncio.to_thread(choose, who.name, included)
                log.info("research choice of %s: %s", who.name, included)
            else:
                self.refuse(404, "Adresse inconnue.")
                return
            self.answer(result)

    return [(prefix + r"rgpd/?(accuse|recherche|donnees)?/?", RgpdHandler, {"gate": gate})]
