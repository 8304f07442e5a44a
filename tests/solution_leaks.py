"""Looking for solution text in files, as a curious learner would (plain, base64, zlib)."""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib

from incubo.exercise_data import decode_solution


def solution_lines(sidecar: dict) -> list[str]:
    """The solutions' lines, except those the author made public (this fixture's last hint gives
    the answer away on purpose; `incubo build` refuses that in a real course)."""
    lines = []
    for ex in sidecar["exercices"].values():
        public = json.dumps([ex.get("indices"), ex.get("tests_visibles")], ensure_ascii=False)
        if ex.get("solution"):
            for line in decode_solution(ex["solution"]).splitlines():
                line = line.strip()
                if line and "SOLUTION" not in line and line not in public:
                    lines.append(line)
    return lines


def decoded_blobs(text: str) -> list[str]:
    """Every base64-looking string of a file, decoded (and inflated when it is zlib)."""
    out = []
    for blob in re.findall(r"[A-Za-z0-9+/=]{16,}", text):
        try:
            raw = base64.b64decode(blob, validate=True)
        except (binascii.Error, ValueError):
            continue
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            pass
        out.append(raw.decode("utf-8", "replace"))
    return out
