"""Code that runs inside a grading kernel, before any student cell, to record tampering.

The sandbox is what keeps student code away from the course; this guard only
*notices* what a submission tried, so its verdict can say so: an audit hook
(PEP 578, it cannot be removed) records opens of forbidden paths, writes
outside the working copy, sockets and process creation, and `report()`
compares the interpreter with a snapshot taken before the first cell
(builtins, IPython's execution and traceback machinery, AST transformers,
trace functions). It is defence in depth: code that owns the process can
fool it, never the sandbox.

This file is sent as text to the kernel (see `setup_code`); it must not
import incubo.
"""

from __future__ import annotations

import json
from pathlib import Path


def _incubo_install(cfg):  # pragma: no cover - runs in the kernel
    """Watch what the submission does (audit hook), snapshot the interpreter, publish report()."""
    import sys
    import types

    ip = get_ipython()  # noqa: F821 - given by the caller
    events = {}
    counters = {"processus": 0}
    sys.addaudithook(_incubo_audit_hook(cfg, events, counters))
    snapshot = _incubo_snapshot(ip)
    module = types.ModuleType("_incubo_guard")
    module.report = lambda report=_incubo_report: report(ip, snapshot, events, counters)
    sys.modules["_incubo_guard"] = module


def _incubo_audit_hook(cfg, events, counters):  # pragma: no cover - runs in the kernel
    """The audit hook: forbidden reads, writes outside the working copy, sockets, processes."""
    import os

    forbidden = [p.rstrip("/") for p in cfg["forbidden"]]
    workdir = cfg["workdir"].rstrip("/")
    write_ok = [workdir, "/tmp", "/dev", "/proc/self"]
    watched = frozenset(
        {
            "open", "os.listdir", "os.scandir", "os.chdir", "glob.glob", "sqlite3.connect", "shutil.copyfile",
            "os.rename", "os.remove", "os.mkdir", "socket.connect", "socket.bind", "socket.sendto",
            "socket.sendmsg", "os.fork", "os.forkpty", "os.posix_spawn", "subprocess.Popen", "os.system",
        }
    )  # fmt: skip
    proc_events = frozenset(
        {"os.fork", "os.forkpty", "os.posix_spawn", "subprocess.Popen", "os.system"}
    )
    write_events = frozenset({"os.rename", "os.remove", "os.mkdir"})
    isabs, join, normpath, getcwd = os.path.isabs, os.path.join, os.path.normpath, os.getcwd

    def note(code, detail):
        items = events.setdefault(code, [])
        if len(items) < 5 and detail not in items:
            items.append(detail)

    def under(path, roots):
        return any(path == r or path.startswith(r + "/") for r in roots)

    def absolute(path):
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if not isinstance(path, str):
            return None
        if not isabs(path):
            try:
                path = join(getcwd(), path)
            except OSError:
                return None
        return normpath(path)

    def hook(event, args):
        if event not in watched:
            return
        try:
            if event in proc_events:
                counters["processus"] += 1
                return
            if event.startswith("socket."):
                note("reseau", f"{event} {args[1]!r}"[:200] if len(args) > 1 else event)
                return
            path = absolute(args[0]) if args else None
            if path is None:
                return
            writing = event in write_events
            if event == "open":
                mode, flags = (
                    (args[1] if len(args) > 1 else "r") or "r",
                    (args[2] if len(args) > 2 else 0) or 0,
                )
                writing = any(c in str(mode) for c in "wax+") or bool(
                    flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
                )
            if writing:
                if not under(path, write_ok):
                    note("ecriture-hors-copie", path)
            elif under(path, forbidden) and not under(path, [workdir]):
                note("lecture-interdite", path)
        except Exception:
            pass

    return hook


def _incubo_snapshot(ip):  # pragma: no cover - runs in the kernel
    """What a submission could replace to fool the grader, as it is before the first cell.

    The modules report() uses are kept here too: imported later, a submission could fake them.
    """
    import builtins
    import json
    import sys

    # names IPython and ipykernel themselves swap at every execution
    managed = {
        "input",
        "raw_input",
        "get_ipython",
        "display",
        "exit",
        "quit",
        "help",
        "copyright",
        "credits",
        "license",
    }
    names = [n for n in dir(builtins) if not n.startswith("_") and n not in managed] + [
        "__import__",
        "__build_class__",
    ]
    builtins_snap = {n: builtins.__dict__.get(n) for n in names}
    shell_cls = type(ip)
    shell_methods = (
        "run_cell",
        "run_cell_async",
        "run_ast_nodes",
        "run_code",
        "transform_cell",
        "transform_ast",
    )
    shell_snap = {m: getattr(shell_cls, m, None) for m in shell_methods}
    kernel = getattr(ip, "kernel", None)
    kernel_snap = {
        "do_execute": getattr(type(kernel), "do_execute", None),
        "handler": (getattr(kernel, "shell_handlers", {}) or {}).get("execute_request"),
    }
    tb_snap = {"showtraceback": getattr(shell_cls, "showtraceback", None)}
    lists = {
        "ast_transformers": list(ip.ast_transformers),
        "input_transformers_post": list(ip.input_transformers_post),
        "input_transformers_cleanup": list(getattr(ip, "input_transformers_cleanup", [])),
    }
    return {
        "modules": (builtins, json, sys),
        "builtins": builtins_snap,
        "shell_cls": shell_cls,
        "shell": shell_snap,
        "kernel": kernel,
        "kernel_snap": kernel_snap,
        "traceback": tb_snap,
        "lists": lists,
    }


def _incubo_report(ip, snap, events, counters):  # pragma: no cover - runs in the kernel
    """JSON: what changed since the snapshot (tamper, warn) and what the audit hook saw."""
    builtins, json, sys = snap["modules"]
    builtins_snap, shell_cls, shell_snap = snap["builtins"], snap["shell_cls"], snap["shell"]
    kernel, kernel_snap, tb_snap, lists = (
        snap["kernel"],
        snap["kernel_snap"],
        snap["traceback"],
        snap["lists"],
    )
    tamper, warn = [], []
    for n, v in builtins_snap.items():
        if builtins.__dict__.get(n) is not v:
            tamper.append(f"builtins.{n}")
    for m, v in shell_snap.items():
        if m in vars(ip) or getattr(shell_cls, m, None) is not v:
            tamper.append(f"shell.{m}")
    if kernel is not None:
        if (
            "do_execute" in vars(kernel)
            or getattr(type(kernel), "do_execute", None) is not kernel_snap["do_execute"]
        ):
            tamper.append("kernel.do_execute")
        if (getattr(kernel, "shell_handlers", {}) or {}).get("execute_request") is not kernel_snap[
            "handler"
        ]:
            tamper.append("kernel.shell_handlers")
    for name, saved in lists.items():
        now = list(getattr(ip, name, []))
        if len(now) != len(saved) or any(a is not b for a, b in zip(now, saved, strict=False)):
            tamper.append(f"shell.{name}")
    if sys.gettrace() is not None:
        tamper.append("sys.settrace")
    if sys.getprofile() is not None:
        tamper.append("sys.setprofile")
    if (
        "showtraceback" in vars(ip)
        or getattr(shell_cls, "showtraceback", None) is not tb_snap["showtraceback"]
    ):
        warn.append("shell.showtraceback")
    return json.dumps({"tamper": tamper, "warn": warn, "events": events, "counters": counters})


#: The expression a probe evaluates (as a silent user expression).
PROBE_EXPRESSION = "__import__('sys').modules['_incubo_guard'].report()"


def setup_code(forbidden: list[str], workdir: str) -> str:
    """A one-expression cell that installs the guard without adding names to the user namespace."""
    source = Path(__file__).read_text(encoding="utf-8")
    start = source.index("def _incubo_install")
    end = source.index("#: The expression a probe")
    body = (
        source[start:end]
        + f"\n_incubo_install({json.dumps({'forbidden': forbidden, 'workdir': workdir})})\n"
    )
    return f"exec({body!r}, {{'get_ipython': get_ipython, '__name__': '_incubo_guard_setup'}})"


def parse_report(user_expressions: dict) -> dict | None:
    """The guard's report from a probe reply, or None when the probe itself was tampered with."""
    import ast

    value = (user_expressions or {}).get("guard") or {}
    if value.get("status") != "ok":
        return None
    try:
        return json.loads(ast.literal_eval(value["data"]["text/plain"]))
    except (KeyError, ValueError, SyntaxError, TypeError):
        return None
