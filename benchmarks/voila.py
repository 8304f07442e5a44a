"""Voila page loads in Chromium: stock `voila explorateur.ipynb` against `incubo apps`.

Measures, on warm servers, the time from navigation to the explorer's
widgets being rendered (its file button is visible), median of N loads
each; prints the ratio incubo / stock (target ≤ 0.5). Then opens 20 pages
of `incubo apps` at once and checks every one is served (target: no failed
load). Not a test: run it by hand, `python benchmarks/voila.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness import (  # noqa: E402
    BIN,
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    http_ok,
    isolated_env,
    running,
    wait_for,
)

NOTEBOOK = ROOT / "notebooks" / "apps" / "explorateur.ipynb"
RENDERED = ".incubo-app .widget-upload"  # the explorer's file button: widgets are there
PAGE_TIMEOUT_MS = 240_000


def pool_fills(log: Path) -> int:
    """How many explorer kernels have finished running the app (pooled ones too: one more after each refill)."""
    try:
        return len(re.findall(r"app ready: Explorer", log.read_text(errors="replace")))
    except OSError:
        return 0


async def load(browser, url: str, context=None) -> float:
    """Seconds from navigation to the explorer's widgets rendered (a fresh browser context unless given)."""
    own = context is None
    context = context or await browser.new_context(locale="fr-FR")
    page = None
    try:
        page = await context.new_page()
        start = time.perf_counter()
        # not waiting for the load event: only the widgets matter (and stock pages link a CDN)
        await page.goto(url, timeout=PAGE_TIMEOUT_MS, wait_until="commit")
        await page.wait_for_selector(RENDERED, timeout=PAGE_TIMEOUT_MS)
        return time.perf_counter() - start
    finally:
        if own:
            await context.close()
        elif page is not None:
            await page.close()


async def sequential(
    browser, stock_url: str, incubo_url: str, incubo_log: Path, n: int, cached: bool
) -> tuple[list[float], list[float]]:
    """`cached`: one browser context for all loads (a returning visitor), else a new one per load."""
    stock, ours = [], []
    context = await browser.new_context(locale="fr-FR") if cached else None
    # warm-up: stock's first kernel imports everything once; our pools are full
    await load(browser, stock_url, context)
    wait_for(lambda: pool_fills(incubo_log) >= 2, timeout=300, what="incubo pool filled")
    await load(browser, incubo_url, context)
    for i in range(n):
        stock.append(await load(browser, stock_url, context))
        fills = pool_fills(incubo_log)
        ours.append(await load(browser, incubo_url, context))
        # warm server: the next load finds a refilled pool (Voila logs each refill)
        await asyncio.get_running_loop().run_in_executor(
            None,
            lambda f=fills: wait_for(
                lambda: pool_fills(incubo_log) > f, timeout=300, what="pool refilled"
            ),
        )
        print(
            f"  chargement {i + 1:2d} : voila {stock[-1]:.2f} s · incubo apps {ours[-1]:.2f} s",
            flush=True,
        )
    if context is not None:
        await context.close()
    return stock, ours


async def concurrent(browser, url: str, n: int) -> tuple[int, list[float], float]:
    start = time.perf_counter()
    results = await asyncio.gather(*(load(browser, url) for _ in range(n)), return_exceptions=True)
    wall = time.perf_counter() - start
    times = [r for r in results if isinstance(r, float)]
    for r in results:
        if not isinstance(r, float):
            print(f"  échec : {type(r).__name__} : {str(r)[:200]}", flush=True)
    return len(times), times, wall


async def main_async(args) -> int:
    work = Path(tempfile.mkdtemp(prefix="incubo-bench-voila-"))
    env = isolated_env(work / "env")
    stock_port, incubo_port = free_port(), free_port()
    stock_cmd = [
        BIN / "voila",
        NOTEBOOK,
        "--no-browser",
        f"--port={stock_port}",
        "--Voila.ip=127.0.0.1",
    ]
    incubo_cmd = [BIN / "incubo", "apps", "--port", incubo_port]
    stock_url = f"http://127.0.0.1:{stock_port}/"
    incubo_url = f"http://127.0.0.1:{incubo_port}/voila/render/explorateur.ipynb"
    print(
        f"Voila : {NOTEBOOK.relative_to(ROOT)} ; {args.n} chargements chacun, serveurs chauds.",
        flush=True,
    )
    with (
        running(
            stock_cmd,
            env=env,
            ready=lambda: http_ok(f"http://127.0.0.1:{stock_port}/voila/static/aucun"),
            log=work / "stock.log",
            timeout=120,
        ),
        running(
            incubo_cmd,
            env=env,
            ready=lambda: http_ok(f"http://127.0.0.1:{incubo_port}/"),
            log=work / "incubo.log",
            timeout=120,
        ),
    ):
        return await measure(args, stock_url, incubo_url, work / "incubo.log")


async def measure(args, stock_url: str, incubo_url: str, incubo_log: Path) -> int:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            stock, ours = await sequential(
                browser, stock_url, incubo_url, incubo_log, args.n, args.cache
            )
            ms, mo = statistics.median(stock), statistics.median(ours)
            ratio = mo / ms
            print(f"médiane voila (stock)  : {ms:.2f} s")
            print(f"médiane incubo apps    : {mo:.2f} s")
            print(
                f"ratio incubo / stock   : {ratio:.2f} (objectif ≤ 0,5) {'OK' if ratio <= 0.5 else 'NON ATTEINT'}",
                flush=True,
            )
            served, times, wall = await concurrent(browser, incubo_url, args.concurrent)
            print(
                f"{args.concurrent} pages à la fois sur incubo apps : {served}/{args.concurrent} servies en {wall:.1f} s"
                + (
                    f" (médiane {statistics.median(times):.1f} s, la plus lente {max(times):.1f} s)"
                    if times
                    else ""
                )
                + (" OK" if served == args.concurrent else " ÉCHEC"),
                flush=True,
            )
        finally:
            await browser.close()
    return 0 if ratio <= 0.5 and served == args.concurrent else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "-n", type=int, default=10, help="chargements mesurés par serveur (défaut : 10)"
    )
    parser.add_argument(
        "--cache",
        action="store_true",
        help="un seul contexte de navigateur (visiteur qui revient, cache HTTP)",
    )
    parser.add_argument(
        "--concurrent", type=int, default=20, help="pages ouvertes à la fois (défaut : 20)"
    )
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
