"""Stock `nbgrader autograde` against `incubo grade autograde`, same cohort, same run.

Builds an `nbgrader quickstart` course with N submissions (two notebooks
each; right, wrong, half-right and empty answers), grades one copy with
stock nbgrader and one with incubo (sandboxed, default workers), checks
that every grade is identical, and prints `speedup: X.XX`.

    .venv/bin/python benchmarks/autograde.py [--students 40]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures" / "grading"))
import cohort  # noqa: E402

KINDS = ["right", "wrong", "half", "empty"]


grades = cohort.grades


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-autograde-") as tmp:
        root = Path(tmp)
        env = cohort.env(root / "env")
        course = cohort.make_course(root / "base", env)
        for i in range(args.students):
            cohort.submit(course, f"agent{i:03d}", KINDS[i % len(KINDS)])
        stock, ours = root / "stock", root / "ours"
        shutil.copytree(course, stock)
        shutil.copytree(course, ours)

        t0 = time.monotonic()
        done = subprocess.run(
            [cohort.BIN / "nbgrader", "autograde", cohort.ASSIGNMENT],
            cwd=stock,
            env=env,
            capture_output=True,
            text=True,
        )
        stock_s = time.monotonic() - t0
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1

        cmd = [cohort.BIN / "incubo", "grade", "autograde", cohort.ASSIGNMENT, "--course-dir", ours]
        if args.workers:
            cmd += ["--workers", str(args.workers)]
        t0 = time.monotonic()
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        ours_s = time.monotonic() - t0
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1

        a, b = grades(stock), grades(ours)
        same = a == b and len(a) > 0
        print(f"submissions: {args.students} x 2 notebooks")
        print(f"stock nbgrader autograde: {stock_s:.1f} s")
        print(f"incubo grade autograde:   {ours_s:.1f} s (sandboxed)")
        print(f"identical scores: {'yes' if same else 'NO'} ({len(a)} grades)")
        print(f"speedup: {stock_s / ours_s:.2f}")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
