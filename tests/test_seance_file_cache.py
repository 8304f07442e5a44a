"""The séance service's one cache of the release's files: a file read once, again when it changes."""

from __future__ import annotations

import os

from incubo.hub.seance_service import FileCache


def test_a_file_is_read_again_only_when_it_is_written_or_removed(tmp_path):
    path = tmp_path / "incubo_quiz.yml"
    path.write_text("une")
    cache, reads = FileCache(), []

    def read() -> str:
        reads.append(1)
        return path.read_text() if path.exists() else "absent"

    assert cache.get(path, read) == cache.get(path, read) == "une"
    assert len(reads) == 1
    path.write_text("deux")
    os.utime(path, ns=(1, 1))  # a new modification time, whatever the clock's resolution
    assert cache.get(path, read) == "deux"
    path.unlink()
    assert cache.get(path, read) == "absent"
    assert cache.get(path, read) == "absent" and len(reads) == 3
