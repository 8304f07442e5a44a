"""Run one sanitised notebook in a pre-started sandboxed kernel, with nbgrader's Execute.

We keep nbgrader's `Execute` preprocessor (its timeout, interrupt and
"showtraceback was disabled" handling decide the scores) but drive its
asynchronous cell loop ourselves, so one process can run many notebooks at
once on pre-started kernels. Around it: a cap on output volume, a notebook
deadline, a guard probe before each test cell, and, when execution stops
early, an error on every cell that did not run, so a killed kernel never
earns the points of tests that never ran.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from queue import Empty
from typing import Any

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from nbgrader import utils as nbutils
from nbgrader.preprocessors import Execute
from traitlets import Integer

from . import kernel_guard

log = logging.getLogger(__name__)


class OutputTooLarge(Exception):
    """The notebook sent more output than the course allows."""


class GradingExecute(Execute):
    """nbgrader's Execute with a cap on the output a notebook may send."""

    output_cap = Integer(5 * 1024 * 1024).tag(config=False)

    def reset_output_count(self) -> None:
        self.output_bytes = 0
        self.output_overflow = False

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[override]
        content = msg.get("content", {})
        size = len(content.get("text", "") or "")
        for value in (content.get("data") or {}).values():
            size += len(value) if isinstance(value, str) else len(str(value))
        self.output_bytes = getattr(self, "output_bytes", 0) + size
        if self.output_bytes > self.output_cap:
            self.output_overflow = True
            if self.km is not None and hasattr(self.km, "kill_now"):
                self.km.kill_now()
            raise OutputTooLarge(f"{self.output_bytes} octets")
        return super().output(outs, msg, display_id, cell_index)


@dataclass
class ExecutionResult:
    """What happened while one notebook ran."""

    stopped: str | None = None  # None | "temps" | "sortie" | "arret" | "bloque"
    stopped_at: int | None = None  # index of the cell where execution stopped
    timeouts: list[str] = field(default_factory=list)  # cells that hit the per-cell limit
    tamper: set[str] = field(default_factory=set)
    warnings: set[str] = field(default_factory=set)
    events: dict[str, list[str]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    neutralised: list[str] = field(default_factory=list)  # tests scored 0 because of tampering
    seconds: float = 0.0

    def absorb(self, report: dict[str, Any] | None) -> None:
        if report is None:
            self.tamper.add("sonde")
            return
        self.tamper.update(report.get("tamper", []))
        self.warnings.update(report.get("warn", []))
        for code, items in (report.get("events") or {}).items():
            known = self.events.setdefault(code, [])
            known.extend(i for i in items if i not in known)
        self.counters.update(report.get("counters") or {})


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(
        output_type="error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"]
    )


def has_error(cell: NotebookNode) -> bool:
    return any(o.get("output_type") == "error" for o in cell.get("outputs", []))


async def _silent(
    ep: GradingExecute, code: str, user_expressions: dict | None, timeout: float
) -> dict | None:
    """A silent request (no history, no counter): our own reply wait, so a stuck kernel cannot hold us."""
    kc = ep.kc
    msg_id = kc.execute(
        code,
        silent=True,
        store_history=False,
        user_expressions=user_expressions or {},
        allow_stdin=False,
    )
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            msg = await kc.shell_channel.get_msg(timeout=min(remaining, 1.0))
        except Empty:
            if not await kc.is_alive():
                return None
            continue
        if msg["parent_header"].get("msg_id") == msg_id:
            return msg


async def _probe(ep: GradingExecute, result: ExecutionResult, timeout: float) -> bool:
    """Ask the guard for its report; False when the kernel does not answer."""
    reply = await _silent(ep, "", {"guard": kernel_guard.PROBE_EXPRESSION}, timeout)
    if reply is None:
        return False
    result.absorb(kernel_guard.parse_report(reply["content"].get("user_expressions")))
    return True


def _mark_not_run(nb: NotebookNode, start: int, reason: str) -> None:
    for cell in nb.cells[start:]:
        if cell.cell_type == "code" and not has_error(cell):
            cell.setdefault("outputs", []).append(error_output("ExecutionInterrompue", reason))


async def run_notebook(
    ep: GradingExecute,
    nb: NotebookNode,
    resources: dict,
    km,
    *,
    guard_setup: str,
    notebook_deadline: float,
) -> ExecutionResult:
    """Execute `nb` in place on the already-started `km`; never raises for what the student did."""
    result = ExecutionResult()
    started = time.monotonic()
    NotebookClient.__init__(ep, nb, km)
    ep.reset_execution_trackers()
    ep.reset_output_count()
    ep._check_assign_resources(resources)
    cell_timeout = float(ep.timeout or 30)
    probe_timeout = min(cell_timeout, 10.0)
    ep.kc = km.client()
    ep.kc.start_channels()
    position = {"index": 0}

    async def cells() -> None:
        await ep.kc.wait_for_ready(timeout=ep.startup_timeout)
        info = await ep.async_wait_for_reply(ep.kc.kernel_info())
        nb.metadata["language_info"] = info["content"]["language_info"]
        if await _silent(ep, guard_setup, None, 30) is None:
            raise DeadKernelError("guard")
        for index, cell in enumerate(nb.cells):
            position["index"] = index
            await _run_cell(ep, cell, index, result, cell_timeout, probe_timeout)
        position["index"] = len(nb.cells)
        await _probe(ep, result, probe_timeout)

    try:
        await asyncio.wait_for(cells(), timeout=max(notebook_deadline, 1.0))
    except OutputTooLarge:
        result.stopped = "sortie"
    except CellTimeoutError:  # the kernel ignored the interrupt and stayed busy
        result.stopped = "bloque"
        cell = nb.cells[min(position["index"], len(nb.cells) - 1)]
        result.timeouts.append(
            cell.metadata.get("nbgrader", {}).get("grade_id") or f"cellule {position['index'] + 1}"
        )
    except (DeadKernelError, asyncio.CancelledError) as exc:
        if asyncio.current_task() and asyncio.current_task().cancelling():
            raise
        result.stopped = (
            "sortie"
            if getattr(ep, "output_overflow", False)
            else ("bloque" if str(exc) == "probe" else "arret")
        )
    except TimeoutError:
        result.stopped = "temps"
    except Exception as exc:  # a protocol error caused by the student's process, not by us
        log.warning("execution stopped: %r", exc)
        result.stopped = "sortie" if getattr(ep, "output_overflow", False) else "arret"
    finally:
        km.kill_now()
        try:
            ep.kc.stop_channels()
        except Exception:  # pragma: no cover - closing a dead kernel's sockets
            pass
    if result.stopped:
        result.stopped_at = position["index"]
        _mark_not_run(nb, position["index"], REASONS_NOT_RUN[result.stopped])
    ep.set_widgets_metadata()
    result.seconds = time.monotonic() - started
    return result


async def _run_cell(
    ep: GradingExecute,
    cell,
    index: int,
    result: ExecutionResult,
    cell_timeout: float,
    probe_timeout: float,
) -> None:
    """One cell; a test cell is preceded by a probe, and neutralised if the kernel was tampered with."""
    is_test = cell.cell_type == "code" and nbutils.is_grade(cell) and not nbutils.is_solution(cell)
    suspicious = False
    if is_test:
        if not await _probe(ep, result, probe_timeout):
            raise DeadKernelError("probe")
        suspicious = bool(result.tamper)
    t0 = time.monotonic()
    await ep.async_execute_cell(cell, index, store_history=True)
    if (
        cell.cell_type == "code"
        and time.monotonic() - t0 >= cell_timeout
        and any(
            o.get("ename") == "CellTimeoutError"
            for o in cell.get("outputs", [])
            if o.get("output_type") == "error"
        )
    ):
        result.timeouts.append(
            cell.metadata.get("nbgrader", {}).get("grade_id") or f"cellule {index + 1}"
        )
    if suspicious and not has_error(cell):
        grade_id = cell.metadata["nbgrader"].get("grade_id", str(index))
        result.neutralised.append(grade_id)
        cell.outputs.append(
            error_output(
                "ContournementDetecte",
                "Les tests ont été neutralisés : environnement modifié.",
            )
        )


REASONS_NOT_RUN = {
    "temps": "cellule non exécutée : le notebook a dépassé sa durée maximale.",
    "sortie": "cellule non exécutée : le notebook a produit trop de sorties.",
    "arret": "cellule non exécutée : le noyau s'est arrêté.",
    "bloque": "cellule non exécutée : le noyau ne répondait plus.",
}
