"""Course build: `incubo build` of courses/ against stock `nbgrader generate_assignment`.

Stock: the same source notebooks (taken from incubo's own source/ output, so
both sides generate identical assignments), one `nbgrader generate_assignment
MODULE --force` process per module, as a trainer would script it. incubo: a
fresh `incubo build` (which also reads and checks the MyST sources, writes the
exercise files and scans for leaks), then a rebuild with nothing changed.
Prints wall and CPU seconds and the ratios incubo / stock. Not a test:
`python benchmarks/build.py`.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness import BIN, isolated_env  # noqa: E402


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(cmds: list[list[str]], env: dict, cwd: Path) -> tuple[float, float]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    for cmd in cmds:
        subprocess.run(cmd, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0, children_cpu() - cpu0


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        env = isolated_env(base / "env")
        course = base / "incubo"
        wall_i, cpu_i = timed(
            [[str(BIN / "incubo"), "build", "--course-dir", str(course)]], env, ROOT
        )
        wall_n, cpu_n = timed(
            [[str(BIN / "incubo"), "build", "--course-dir", str(course)]], env, ROOT
        )

        stock = base / "stock"
        shutil.copytree(course / "source", stock / "source")
        (stock / "nbgrader_config.py").write_text(
            "c = get_config()\nc.CourseDirectory.course_id = 'stock'\n"
        )
        modules = sorted(p.name for p in (stock / "source").iterdir())
        cmds = [[str(BIN / "nbgrader"), "generate_assignment", m, "--force"] for m in modules]
        wall_s, cpu_s = timed(cmds, env, stock)
        notebooks = sum(1 for _ in (course / "source").rglob("*.ipynb"))

    print(f"{len(modules)} modules, {notebooks} notebooks")
    print(
        f"stock nbgrader generate_assignment (1 process/module): {wall_s:6.1f} s wall, {cpu_s:6.1f} s CPU"
    )
    print(
        f"incubo build, fresh:                                  {wall_i:6.1f} s wall, {cpu_i:6.1f} s CPU"
    )
    print(
        f"incubo build, nothing changed:                        {wall_n:6.1f} s wall, {cpu_n:6.1f} s CPU"
    )
    print(f"ratio fresh / stock: {wall_i / wall_s:.2f} wall, {cpu_i / cpu_s:.2f} CPU")
    print(f"ratio no-op / stock: {wall_n / wall_s:.2f} wall, {cpu_n / cpu_s:.2f} CPU")


if __name__ == "__main__":
    main()
