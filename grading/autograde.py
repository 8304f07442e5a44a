"""Parallel, sandboxed, resumable autograding of one assignment of any nbgrader course.

One process, one event loop: it keeps `workers` notebooks executing and as
many submissions ahead with their kernels already starting (each kernel
serves exactly one notebook of one submission, as with stock nbgrader),
because starting an nbgrader process costs about 2 s of CPU and a kernel
about 0.3 s. Every submission is graded in a private working copy, then
written in one gradebook transaction, then its folder is renamed into
`autograded/`: a run killed at any moment and started again ends with the
same gradebook.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.coursedir import CourseDirectory

from incubo import console
from incubo.errors import IncuboError, suggestion

from . import pipeline, verdicts
from .gradebook_writer import SharedGradebook
from .limits import Limits, load_limits
from .sandbox import (
    Lifeline,
    SandboxedKernelManager,
    SandboxPlan,
    bwrap_works,
    chown_tree,
    is_root,
    scrub_tree,
    uid_alive,
)

log = logging.getLogger(__name__)

WORK_DIR = ".incubo"


@dataclass
class Submission:
    student: str
    submitted: Path
    notebooks: list[str]
    digest: str
    staging: Path | None = None
    verdicts: list = field(default_factory=list)
    failed_notebooks: set = field(default_factory=set)
    executed: dict = field(default_factory=dict)  # notebook -> (nb, resources)
    clean: dict = field(
        default_factory=dict
    )  # notebook -> sanitised text, as written before any kernel ran
    seconds: float = 0.0


@dataclass
class Summary:
    """What a run did, for the French summary and for tests."""

    graded: int = 0
    flagged: int = 0
    failed: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)
    remarks: dict[str, list[str]] = field(default_factory=dict)
    seconds: float = 0.0

    def french(self) -> str:
        text = (
            f"Correction terminée en {console.seconds(self.seconds)} : {self.graded} copie(s) corrigée(s), "
            f"dont {self.flagged} signalée(s) et {self.failed} en échec"
        )
        if self.skipped:
            text += f" ; {self.skipped} déjà corrigée(s), laissée(s) telle(s) quelle(s)"
        return text + "."


def _digest(paths: list[Path], extra: str) -> str:
    h = hashlib.sha256(extra.encode())
    for root in paths:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            h.update(str(path.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


class Autograder:
    """Grades `assignment` in `course_dir`; `run()` returns a `Summary`."""

    def __init__(
        self,
        course_dir: Path,
        assignment: str,
        *,
        workers: int | None = None,
        student: str | None = None,
        limits: Limits | None = None,
        show_progress: bool = True,
        progress_file: Path | None = None,
    ) -> None:
        self.course_dir = Path(course_dir).resolve()
        if (
            not (self.course_dir / "nbgrader_config.py").exists()
            and not (self.course_dir / "source").is_dir()
        ):
            raise IncuboError(
                f"Le dossier de cours {self.course_dir} n'existe pas ou n'est pas un cours nbgrader. "
                "Indiquez-le avec --course-dir ou lancez d'abord « incubo build ».",
                code="cours-introuvable",
            )
        self.assignment = assignment
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.student = student
        self.limits = limits or load_limits(self.course_dir)
        self.show_progress = show_progress
        #: JSON {"total", "faites", "etat"} rewritten after each copy (« Devoirs » polls it).
        self.progress_file = Path(progress_file) if progress_file else None
        self.config = pipeline.load_config(self.course_dir)
        self.coursedir = CourseDirectory(config=self.config)
        self.steps = pipeline.steps_from_config(self.config)
        isolate = self.limits.isolation and bwrap_works()
        if is_root() and not isolate:
            raise IncuboError(
                "Refusé : la correction exécuterait le code des apprenants en tant que root sans bac à "
                "sable. Installez bubblewrap (« apt-get install bubblewrap ») et laissez « isolation: "
                "true » dans incubo_grading.yml, ou lancez la correction sous un compte sans privilèges.",
                code="correction-root-sans-bac-a-sable",
            )
        if self.limits.isolation and not isolate:
            console.warning(
                "bubblewrap est absent ou ne peut pas créer de bac à sable ici : les noyaux tournent "
                "sans isolation (seules les limites de mémoire, de processus et de temps s'appliquent)."
            )
        self.plan = SandboxPlan(self.limits, self.course_dir, isolate)
        execute_timeout = self.config.Execute.get("timeout", 30) if "Execute" in self.config else 30
        self.cell_timeout = self.limits.cell_timeout or execute_timeout or 30

    # -- discovery ---------------------------------------------------------
    def _submissions(self, shared: SharedGradebook) -> list[Submission]:
        gb = shared.gb
        names = [a.name for a in gb.assignments]
        if self.assignment not in names:
            raise IncuboError(
                f"Le devoir « {self.assignment} » n'existe pas dans le carnet de notes."
                f"{suggestion(self.assignment, names)} Lancez d'abord « nbgrader generate_assignment » ou « incubo build ».",
                code="devoir-inconnu",
            )
        known = {nb.name for nb in gb.find_assignment(self.assignment).notebooks}
        pattern = self.coursedir.format_path(
            self.coursedir.submitted_directory, self.student or "*", self.assignment
        )
        excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
        source = Path(
            self.coursedir.format_path(self.coursedir.source_directory, ".", self.assignment)
        )
        extra = repr(self.limits) + str(self.cell_timeout)
        subs = []
        import glob

        for folder in sorted(glob.glob(pattern)):
            folder = Path(folder)
            student = folder.parent.name
            if student in excluded or not folder.is_dir():
                continue
            notebooks = sorted(p.stem for p in folder.glob("*.ipynb") if p.stem in known)
            subs.append(Submission(student, folder, notebooks, _digest([folder, source], extra)))
        if self.student and not subs:
            raise IncuboError(
                f"Aucune copie du devoir « {self.assignment} » pour « {self.student} » dans {self.course_dir / 'submitted'}.",
                code="copie-introuvable",
            )
        return subs

    def _final_dir(self, student: str) -> Path:
        return Path(
            self.coursedir.format_path(
                self.coursedir.autograded_directory, student, self.assignment
            )
        )

    # -- one submission ----------------------------------------------------
    def _prepare(self, sub: Submission, shared: SharedGradebook) -> list[tuple[str, Path]]:
        """Working copy and sanitised notebooks; returns (notebook, kernel name) to start."""
        sub.staging = Path(tempfile.mkdtemp(prefix=f"{sub.student}-", dir=self.tmp_root))
        pipeline.copy_files(self.coursedir, self.steps, self.assignment, sub.submitted, sub.staging)
        gb = shared.gb
        to_run = []
        with shared.lent():
            for name in sub.notebooks:
                path = sub.submitted / f"{name}.ipynb"
                try:
                    raw = nbformat.read(str(path), as_version=4)
                except Exception as exc:  # not JSON, not a notebook
                    log.info("%s/%s unreadable: %s", sub.student, name, exc)
                    sub.verdicts.append(verdicts.Verdict("notebook-illisible", name))
                    sub.failed_notebooks.add(name)
                    continue
                try:
                    sub.verdicts += verdicts.static_checks(
                        name, raw, gb.find_notebook(name, self.assignment), self.config
                    )
                    res = pipeline.resources_for(self.coursedir, self.assignment, sub.student, name)
                    sub.clean[name] = pipeline.sanitize(
                        self.config, self.steps, res, path, sub.staging
                    )
                    clean = nbformat.reads(sub.clean[name], as_version=4)
                except (
                    Exception
                ) as exc:  # nbgrader refused it too: invalid metadata, unrepairable cells
                    code = (
                        "metadonnees-invalides"
                        if "nbgrader metadata" in str(exc)
                        else "reparation-impossible"
                    )
                    log.info("%s/%s: %s", sub.student, name, exc)
                    sub.verdicts.append(verdicts.Verdict(code, name))
                    sub.failed_notebooks.add(name)
                    continue
                to_run.append((name, (clean.metadata.get("kernelspec") or {}).get("name") or ""))
        shared.read_done()
        return to_run

    async def _start_kernel(
        self, sub: Submission, kernel_name: str, uid: int | None
    ) -> SandboxedKernelManager:
        runtime = Path(tempfile.mkdtemp(dir=self.rt_root))
        mount = self._final_dir(sub.student)
        kwargs = {"kernel_name": kernel_name} if kernel_name else {}
        km = SandboxedKernelManager(
            config=self.config, transport="ipc", ip=str(runtime / "k"), **kwargs
        )
        km.connection_file = str(runtime / "kernel.json")
        km.sandbox_uid = uid if uid is not None else -1
        km.sandbox_prefix = self.plan.command_prefix(
            workdir=sub.staging,
            mountpoint=mount,
            runtime_dir=runtime,
            uid=uid,
            lifeline=self.lifeline.read_fd,
        )
        if uid is not None:
            os.chown(runtime, uid, uid)
        spec = km.kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"  # a signal would reach bubblewrap, not the kernel
        extra = (
            list(self.config.Execute.get("extra_arguments", [])) if "Execute" in self.config else []
        )
        if km.ipykernel and not any(a.startswith("--HistoryManager.hist_file") for a in extra):
            extra.append("--HistoryManager.hist_file=:memory:")
        await km.start_kernel(
            extra_arguments=extra,
            env=self.plan.environment(mount),
            cwd=str(sub.staging),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **self.lifeline.launch_options(sandboxed=self.plan.isolate),
        )
        return km

    async def _grade(
        self,
        sub: Submission,
        shared: SharedGradebook,
        ahead: asyncio.Semaphore,
        slots: asyncio.Semaphore,
    ):
        from .executor import GradingExecute, run_notebook
        from .kernel_guard import setup_code

        async with ahead:
            started = time.monotonic()
            to_run = self._prepare(sub, shared)
            uid = self.plan.next_uid()
            if uid is not None:
                chown_tree(sub.staging, uid)
            kernels = [
                asyncio.ensure_future(self._start_kernel(sub, kname, uid))
                for _name, kname in to_run
            ]
            try:
                async with slots:
                    mount = str(self._final_dir(sub.student))
                    forbidden = [
                        str(self.course_dir),
                        str(Path(self.coursedir.db_url.replace("sqlite:///", ""))),
                    ]
                    guard = setup_code(forbidden, mount if self.plan.isolate else str(sub.staging))
                    for (name, _k), future in zip(to_run, kernels, strict=True):
                        km = await future
                        ep = GradingExecute(config=self.config, log=pipeline.nb_log)
                        ep.timeout = int(self.cell_timeout)
                        ep.output_cap = int(self.limits.output_mib * 1024 * 1024)
                        path = sub.staging / f"{name}.ipynb"
                        res = pipeline.resources_for(
                            self.coursedir, self.assignment, sub.student, name
                        )
                        nb, res = pipeline.start_resources(
                            self.config, self.steps, res, path, sub.clean[name]
                        )
                        result = await run_notebook(
                            ep,
                            nb,
                            res,
                            km,
                            guard_setup=guard,
                            notebook_deadline=self.limits.notebook_timeout,
                        )
                        sub.verdicts += verdicts.execution_verdicts(name, nb, result)
                        sub.executed[name] = (nb, res)
            finally:
                for future in kernels:
                    if future.done() and not future.cancelled() and future.exception() is None:
                        future.result().kill_now()
                    else:
                        future.cancel()
            sub.seconds = time.monotonic() - started
            if uid is not None:
                await _processes_gone(uid)
            self._commit(sub, shared)

    def _commit(self, sub: Submission, shared: SharedGradebook) -> None:
        """One transaction for the whole submission, then the folder appears in autograded/."""
        if is_root() and self.plan.isolate:
            chown_tree(sub.staging, os.getuid())
        planted = scrub_tree(
            sub.staging
        )  # before we write there as the grader: no student symlink or FIFO
        if planted:
            names = ", ".join(sorted(os.path.relpath(p, sub.staging) for p in planted)[:5])
            sub.verdicts.append(verdicts.Verdict("fichiers-pieges", "copie de travail", names))
        for _attempt in range(len(sub.notebooks) + 1):
            try:
                with shared.lent(), shared.transaction() as gb:
                    pipeline.record_submission(
                        gb, self.coursedir, self.steps, self.assignment, sub.student, sub.submitted
                    )
                    for name in sub.notebooks:
                        if name in sub.failed_notebooks or name not in sub.executed:
                            pipeline.zero_notebook(gb, self.assignment, sub.student, name)
                            continue
                        nb, res = sub.executed[name]
                        try:
                            pipeline.finish(self.config, self.steps, nb, res, sub.staging)
                        except Exception as exc:
                            log.info("%s/%s failed after execution: %s", sub.student, name, exc)
                            sub.failed_notebooks.add(name)
                            code = (
                                "metadonnees-invalides"
                                if "nbgrader metadata" in str(exc)
                                else "erreur-correction"
                            )
                            sub.verdicts.append(verdicts.Verdict(code, name))
                            raise _Retry() from exc
                    status = verdicts.status_of(sub.verdicts)
                    shared.record(
                        self.assignment, sub.student, status, sub.digest, sub.seconds, sub.verdicts
                    )
                    pipeline.set_permissions(self.config, self.coursedir, sub.staging)
                break
            except _Retry:
                continue
        final = self._final_dir(sub.student)
        final.parent.mkdir(parents=True, exist_ok=True)
        trash = None
        if final.exists():
            trash = Path(tempfile.mkdtemp(prefix="ancien-", dir=self.tmp_root))
            os.rename(final, trash / "copie")
        os.rename(sub.staging, final)
        if trash:
            shutil.rmtree(trash, ignore_errors=True)
        self.summary.statuses[sub.student] = status
        if sub.verdicts:
            self.summary.remarks[sub.student] = [v.reason for v in sub.verdicts]
        self._emit(sub, shared)

    def _emit(self, sub: Submission, shared: SharedGradebook) -> None:
        try:
            from . import statements
        except ImportError:  # pragma: no cover
            return
        statements.emit_for_submission(
            shared.gb, self.course_dir, self.assignment, sub.student, sub.digest, sub.verdicts
        )

    # -- the run -----------------------------------------------------------
    async def _run_all(self, todo: list[Submission], shared: SharedGradebook) -> None:
        ahead = asyncio.Semaphore(self.workers * 2)
        slots = asyncio.Semaphore(self.workers)
        bar = (
            console.progress_bar(len(todo), desc="Correction", unit="copie")
            if self.show_progress
            else None
        )

        done = [0]
        self._write_progress(0, len(todo))

        async def one(sub: Submission) -> None:
            try:
                await self._grade(sub, shared, ahead, slots)
            except (
                Exception
            ) as exc:  # our failure, not the student's: not recorded, retried next run
                log.exception("grading %s failed", sub.student)
                self.summary.errors.append(f"{sub.student} : {type(exc).__name__} : {exc}")
                self.summary.statuses[sub.student] = "erreur"
                if sub.staging and sub.staging.exists():
                    shutil.rmtree(sub.staging, ignore_errors=True)
            finally:
                done[0] += 1
                self._write_progress(done[0], len(todo))
                if bar is not None:
                    bar.update(1)

        try:
            await asyncio.gather(*(one(s) for s in todo))
        finally:
            if bar is not None:
                bar.close()

    def _write_progress(self, done: int, total: int) -> None:
        """« Devoirs »'s live view of the run: copies graded so far out of those to grade."""
        if self.progress_file is None:
            return
        from incubo.exchange import write_file_atomic

        state = {
            "total": total,
            "faites": done,
            "etat": "terminee" if done >= total else "en-cours",
        }
        data = json.dumps(state).encode()
        try:
            self.progress_file.parent.mkdir(parents=True, exist_ok=True)
            write_file_atomic(self.progress_file.parent, self.progress_file.name, data, 0o640)
        except OSError as exc:  # the grading goes on; only its live view is missing
            log.warning("progress not written to %s: %s", self.progress_file, exc)

    def run(self) -> Summary:
        # nbformat complains about students' notebooks through the traitlets logger: verdicts say it in French
        quiet = logging.getLogger("traitlets")
        level = quiet.level
        if not log.isEnabledFor(logging.DEBUG):
            quiet.setLevel(logging.CRITICAL)
        try:
            return self._run()
        finally:
            quiet.setLevel(level)

    def _run(self) -> Summary:
        started = time.monotonic()
        self.summary = Summary()
        work = self.course_dir / WORK_DIR
        work.mkdir(exist_ok=True)
        with _exclusive(work / "correction.lock"):
            self.tmp_root = work / "en-cours"
            shutil.rmtree(self.tmp_root, ignore_errors=True)  # leftovers of a killed run
            self.tmp_root.mkdir()
            self.rt_root = _kernels_root(work / KERNELS_RECORD)
            os.chmod(self.rt_root, 0o755)
            try:
                url = self.coursedir.db_url
                if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
                    raise IncuboError(
                        f"Aucun carnet de notes dans {self.course_dir}. Lancez d'abord « nbgrader generate_assignment "
                        f"{self.assignment} » ou « incubo build ».",
                        code="carnet-absent",
                    )
                shared = SharedGradebook(url, self.coursedir.course_id)
                try:
                    subs = self._submissions(shared)
                    if not subs:
                        console.warning(
                            f"aucune copie rendue pour « {self.assignment} » dans "
                            f"{self.course_dir / 'submitted'} : ramassez d'abord les copies "
                            f"(« nbgrader collect {self.assignment} »)."
                        )
                    todo = []
                    for sub in subs:
                        if (
                            shared.done_digest(self.assignment, sub.student) == sub.digest
                            and self._final_dir(sub.student).exists()
                        ):
                            self.summary.skipped += 1
                        else:
                            todo.append(sub)
                    shared.read_done()
                    # a SIGKILLed grader takes its sandboxes with it (see sandbox.Lifeline)
                    self.lifeline = Lifeline()
                    try:
                        asyncio.run(self._run_all(todo, shared))
                    finally:
                        self.lifeline.close()
                finally:
                    shared.close()
            finally:
                shutil.rmtree(self.rt_root, ignore_errors=True)
                (work / KERNELS_RECORD).unlink(missing_ok=True)
                shutil.rmtree(self.tmp_root, ignore_errors=True)
        statuses = [s for s in self.summary.statuses.values()]
        self.summary.graded = sum(1 for s in statuses if s in ("note", "signale", "echec"))
        self.summary.flagged = statuses.count("signale")
        self.summary.failed = statuses.count("echec") + statuses.count("erreur")
        self.summary.seconds = time.monotonic() - started
        return self.summary


class _Retry(Exception):
    pass


async def _processes_gone(uid: int, timeout: float = 10.0) -> None:
    """Before we write in a working copy, nothing of its sandbox may still run."""
    deadline = time.monotonic() + timeout
    while uid_alive(uid):
        if time.monotonic() > deadline:
            log.warning("processes of uid %s still alive after %.0f s", uid, timeout)
            return
        await asyncio.sleep(0.02)


#: Where a run writes its kernels' runtime folder (short, under /tmp: kernels' socket paths), so
#: that the next run removes it when a SIGKILL left it behind.
KERNELS_RECORD = "noyaux-en-cours.txt"


def _kernels_root(record: Path) -> Path:
    """A new runtime folder for this run's kernels, after removing a killed run's (if recorded)."""
    with contextlib.suppress(OSError, ValueError):
        left = Path(record.read_text(encoding="utf-8").strip())
        if left.parent == Path(tempfile.gettempdir()) and left.name.startswith("incubo-k"):
            shutil.rmtree(left, ignore_errors=True)
    made = Path(tempfile.mkdtemp(prefix="incubo-k"))
    record.write_text(str(made), encoding="utf-8")
    return made


@contextlib.contextmanager
def _exclusive(path: Path):
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IncuboError(
                "Une autre correction est déjà en cours sur ce cours. Attendez qu'elle se termine.",
                code="correction-en-cours",
            ) from None
        yield


def autograde(course_dir: Path, assignment: str, **kwargs) -> Summary:
    """Grade every submission of `assignment` (see `Autograder`)."""
    return Autograder(course_dir, assignment, **kwargs).run()
