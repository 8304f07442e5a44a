"""Run a hub service's event loop until JupyterHub stops it.

JupyterHub stops a managed service with SIGINT, then SIGTERM. A hub started
from a script may hand its children SIGINT *ignored* (background jobs of a
non-interactive shell), and Python then never raises KeyboardInterrupt: the
service would outlive the hub. Both signals are therefore handled here.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


def run(main: Callable[[], Awaitable[None]]) -> None:
    """Run `main()` (which serves forever) and return cleanly on SIGINT or SIGTERM."""

    async def guarded() -> None:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await main()
        except asyncio.CancelledError:
            log.info("stopping")

    asyncio.run(guarded())
