"""« Devoirs »: the trainers' page for modules, at `/services/<course>/devoirs`, as the grader.

Served by the course's formgrader service (`incubo.hub.formgrader` adds these handlers to its
Jupyter server), which runs as the grader account (`incubo-correcteur`), never root; the hub
lets only its trainers in (group `formgrade-<course>`, `incubo.hub.trainers`). Per module:
release with an optional due date and late policy, who has received it (the `.recu-<module>`
marks learners leave in their submission folders), who has handed in and when (late or not),
collect, grade (its progress read live from `--progression`'s file), return feedback, and the
grades for Excel. Every action is the `incubo grade …` command itself, started from this
server (so as the grader): the same functions, the same files, the same French messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from incubo import deadlines, french_time
from incubo.errors import IncuboError
from incubo.exchange import ExchangeLayout, safe_name, submissions_of

log = logging.getLogger(__name__)

ROUTE = "devoirs"
RECEIVED_MARK = ".recu-"  # incubo.hub.learner_fetch.RECEIVED_MARK
#: What each button runs: `incubo grade <words> MODULE`.
ACTIONS = {
    "distribuer": ("release",),
    "ramasser": ("collect",),
    "corriger": ("autograde",),
    "retours": ("feedback", "--release"),
}
#: French names of the actions, for messages: (name, « terminé » agreed with it).
NAMES = {
    "distribuer": ("Distribution", "terminée"),
    "ramasser": ("Ramassage", "terminé"),
    "corriger": ("Correction", "terminée"),
    "retours": ("Retour des copies", "terminé"),
}
#: Lines of the command's output shown on the page (its French sentences, not tqdm's bars).
SHOWN = re.compile(r"^(✔ |Attention : |Erreur : |Échéance : )")


@dataclass
class Job:
    """One `incubo grade` command started from the page, and what it said."""

    action: str
    module: str
    started: float = field(default_factory=time.time)
    state: str = "en-cours"  # en-cours | reussi | echec
    lines: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        name, done = NAMES[self.action]
        words = {"en-cours": "en cours…", "reussi": f"{done}.", "echec": "en échec."}
        return {
            "action": self.action,
            "etat": self.state,
            "titre": f"{name} {words[self.state]}",
            "message": self.lines[-12:],
        }


class Room:
    """The course directory and exchange the page reads, and the commands it started."""

    def __init__(self, course_dir: Path, hub_dir: Path, course_id: str) -> None:
        self.course_dir = Path(course_dir)
        self.hub_dir = Path(hub_dir)
        self.layout = ExchangeLayout(self.hub_dir / "exchange", course_id)
        self.jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task] = set()

    # --- what the page shows ---
    def modules(self) -> list[str]:
        release = self.course_dir / "release"
        if not release.is_dir():
            return []
        return sorted(p.name for p in release.iterdir() if p.is_dir() and safe_name(p.name))

    def learners(self) -> list[str]:
        try:
            names = os.listdir(self.layout.inbound)
        except OSError:
            return []
        return sorted(n for n in names if safe_name(n))

    def progress_file(self, module: str) -> Path:
        return self.course_dir / ".incubo" / f"progression-{module}.json"

    def view(self) -> dict:
        learners = self.learners()
        return {
            "modules": [self.module_view(m, learners) for m in self.modules()],
            "apprenants": learners,
        }

    def module_view(self, module: str, learners: list[str]) -> dict:
        deadline = deadlines.read(self.layout.outbound, module)
        job = self.jobs.get(module)
        return {
            "module": module,
            "distribue": (self.layout.outbound / module).is_dir(),
            "echeance": _deadline_view(deadline),
            "apprenants": [self.learner_view(module, name, deadline) for name in learners],
            "action": job.to_json() if job else None,
            "progression": self.progress(module),
        }

    def learner_view(self, module: str, learner: str, deadline) -> dict:
        folder = self.layout.inbound_of(learner)
        row = {"nom": learner, "recu": os.path.lexists(folder / f"{RECEIVED_MARK}{module}")}
        row.update(_hand_in_view(folder, module, deadline))
        for key, where in (("ramasse", "submitted"), ("corrige", "autograded")):
            row[key] = (self.course_dir / where / learner / module).is_dir()
        feedback = self.course_dir / "feedback" / learner / module
        row["retour"] = feedback.is_dir() and any(feedback.glob("*.html"))
        return row

    def progress(self, module: str) -> dict | None:
        try:
            data = json.loads(self.progress_file(module).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    # --- what the buttons do ---
    def command(self, action: str, module: str, form: dict) -> list[str]:
        """The `incubo grade` command line of a button (a French error for a bad form)."""
        if action not in ACTIONS:
            raise IncuboError(f"Action inconnue : « {action} ».", code="action-inconnue")
        if module not in self.modules():
            raise IncuboError(f"Module inconnu : « {module} ».", code="module-inconnu")
        words = [*ACTIONS[action], module, "--course-dir", str(self.course_dir)]
        if action == "distribuer":
            words += release_options(form, (self.layout.outbound / module).is_dir())
        if action == "corriger":
            words += ["--progression", str(self.progress_file(module))]
        return [sys.executable, "-m", "incubo", "grade", *words]

    def start(self, action: str, module: str, form: dict) -> Job:
        running = self.jobs.get(module)
        if running is not None and running.state == "en-cours":
            raise IncuboError(
                f"« {NAMES[running.action][0]} » est encore en cours pour ce module : attendez la fin.",
                code="action-en-cours",
            )
        argv = self.command(action, module, form)
        if action == "corriger":
            self.progress_file(module).unlink(missing_ok=True)
        job = self.jobs[module] = Job(action, module)
        task = asyncio.ensure_future(self._run(job, argv))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    def environment(self) -> dict[str, str]:
        env = dict(os.environ, INCUBO_HUB_DIR=str(self.hub_dir), PYTHONUNBUFFERED="1")
        env.setdefault("LANG", "fr_FR.UTF-8")
        return env

    async def _run(self, job: Job, argv: list[str]) -> None:
        log.info("« Devoirs »: %s", " ".join(argv[2:]))
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                cwd=self.course_dir, env=self.environment(),
            )  # fmt: skip
            assert proc.stdout is not None
            async for raw in proc.stdout:
                for line in raw.decode("utf-8", "replace").replace("\r", "\n").splitlines():
                    if SHOWN.match(line.strip()) or job.lines and line.startswith("  "):
                        job.lines.append(line.strip())
            code = await proc.wait()
        except OSError as exc:
            job.lines.append(f"Erreur : la commande n'a pas pu démarrer ({exc.strerror}).")
            code = 1
        job.state = "reussi" if code == 0 else "echec"

    async def export(self) -> tuple[bytes, str]:
        """`incubo grade export`'s bytes (CSV for Excel in French), and its error if any."""
        argv = [sys.executable, "-m", "incubo", "grade", "export", "--course-dir"]
        proc = await asyncio.create_subprocess_exec(
            *argv, str(self.course_dir), stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=self.course_dir, env=self.environment(),
        )  # fmt: skip
        out, err = await proc.communicate()
        return out, "" if proc.returncode == 0 else err.decode("utf-8", "replace").strip()


def release_options(form: dict, released: bool) -> list[str]:
    """--echeance / --retard / --force from the page's form (date and time in the room's time)."""
    day, clock = str(form.get("date") or "").strip(), str(form.get("heure") or "").strip()
    options = ["--force"] if released else []
    if clock and not day:
        raise IncuboError("Indiquez aussi la date de l'échéance, pas seulement l'heure.")
    if day:
        text = f"{day} {clock}" if clock else day
        deadlines.parse_due(text)  # a French sentence now rather than from the command
        options += ["--echeance", text]
        options += ["--retard", deadlines.parse_policy(str(form.get("retard") or "accepter"))]
    return options


def _deadline_view(deadline) -> dict | None:
    if deadline is None:
        return None
    return {
        "texte": deadline.french(),
        "retard": deadline.late,
        "iso": deadline.due.isoformat(),
    }


def _hand_in_view(folder: Path, module: str, deadline) -> dict:
    """Whether and when the learner handed in (by change time), and whether it was late."""
    try:
        found = submissions_of(folder, module)
        if not found:
            return {"rendu": None, "copies": 0}
        moment = deadlines.submission_time(found[-1][1])
    except OSError:
        return {"rendu": None, "copies": 0, "illisible": True}
    late = deadline is not None and deadline.is_late(moment)
    return {
        "rendu": french_time.french_moment(moment),
        "copies": len(found),
        "en_retard": late,
        "refuse": late and deadline.refuses(moment),
    }


# --- the web side (handlers added to the formgrader's Jupyter server) ---


def page_html() -> str:
    """hub/devoirs.html with the dashboard's own style sheet (the same look)."""
    here = Path(__file__).parent
    dashboard = (here / "dashboard.html").read_text(encoding="utf-8")
    style = re.search(r"<style>(.*?)</style>", dashboard, re.S)
    text = (here / "devoirs.html").read_text(encoding="utf-8")
    return text.replace("/*__STYLE_TABLEAU__*/", style.group(1) if style else "")


def handlers(base_url: str, room: Room) -> list[tuple]:
    from incubo.hub import devoirs_handlers as h

    prefix = base_url.rstrip("/") + "/" + ROUTE
    return [
        (prefix + "/?", h.PageHandler, {"room": room}),
        (prefix + "/donnees", h.DataHandler, {"room": room}),
        (prefix + "/action", h.ActionHandler, {"room": room}),
        (prefix + "/notes.csv", h.ExportHandler, {"room": room}),
    ]


def install(serverapp) -> None:
    """Add « Devoirs » to the formgrader service's server (`incubo.hub.formgrader`)."""
    from incubo.config import hub_settings

    settings = hub_settings()
    course_dir = Path(serverapp.root_dir)
    room = Room(course_dir, Path(settings.hub_dir), settings.course_id)
    serverapp.web_app.add_handlers(".*$", handlers(serverapp.base_url, room))
    serverapp.log.info("incubo: « Devoirs » at %s%s", serverapp.base_url, ROUTE)
