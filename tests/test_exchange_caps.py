"""Collect's copy out of a learner's folder (issue 18, point 4), without a hub.

`incubo.exchange.copy_tree_nofollow` is what collect (as the grader) and the
hub's other readers of learner-owned folders use. Each cap and each refusal is
tried on a folder a hostile learner could have made: what is copied is
regular files only, within the caps, and each thing left behind is one French
sentence naming it. The real-hub attack (links, FIFO, /dev/zero, a 30 MiB
file) is in tests/test_room_attacks_files.py.
"""

from __future__ import annotations

import os

from incubo import exchange
from incubo.exchange import copy_tree_nofollow


def files_in(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_submission_over_its_total_is_cut_at_the_cap_and_says_so(tmp_path):
    src, dest = tmp_path / "rendu", tmp_path / "copie"
    src.mkdir()
    for i in range(5):
        (src / f"f{i}.ipynb").write_bytes(b"x" * 400)
    report = copy_tree_nofollow(src, dest, base=tmp_path, max_total=1000)
    assert files_in(dest) == ["f0.ipynb", "f1.ipynb"]
    assert (report.files, report.size) == (2, 800)
    assert len(report.skipped) == 3
    assert all("dépasserait" in line and "au total" in line for line in report.skipped)


def test_a_submission_with_too_many_files_keeps_the_first_ones_and_says_so(tmp_path):
    src, dest = tmp_path / "rendu", tmp_path / "copie"
    (src / "b").mkdir(parents=True)
    for i in range(4):
        (src / f"a{i}.txt").write_text("a")
    (src / "b" / "deep.txt").write_text("b")
    report = copy_tree_nofollow(src, dest, base=tmp_path, max_files=3)
    assert files_in(dest) == ["a0.txt", "a1.txt", "a2.txt"]
    assert report.skipped == [
        "« a3.txt » ignoré : la copie compte déjà 3 fichiers.",
        "« b » ignoré : dossier trop profond ou copie déjà trop nombreuse.",
    ]


def test_folders_deeper_than_the_cap_are_left_out(tmp_path):
    src, dest = tmp_path / "rendu", tmp_path / "copie"
    deep = src
    for i in range(exchange.MAX_DEPTH + 3):
        deep = deep / f"n{i}"
    deep.mkdir(parents=True)
    (deep / "fond.txt").write_text("x")
    (src / "travail.ipynb").write_text("{}")
    report = copy_tree_nofollow(src, dest, base=tmp_path)
    assert files_in(dest) == ["travail.ipynb"]
    assert len(report.skipped) == 1 and "dossier trop profond" in report.skipped[0]
    assert report.skipped[0].startswith("« " + "/".join(f"n{i}" for i in range(17)))


def test_links_fifos_and_oversized_files_deep_inside_are_never_read(tmp_path):
    secret = tmp_path / "secret-du-correcteur.txt"
    secret.write_text("ne pas lire")
    src, dest = tmp_path / "rendu", tmp_path / "copie"
    inner = src / "sous" / "dossier"
    inner.mkdir(parents=True)
    (inner / "lien.ipynb").symlink_to(secret)
    (src / "sous" / "lien-dossier").symlink_to(tmp_path)
    os.mkfifo(inner / "tube.ipynb")
    (inner / "gros.ipynb").write_bytes(b"x" * 2048)
    (inner / "bon.ipynb").write_text("{}")
    report = copy_tree_nofollow(src, dest, base=tmp_path, max_file=1024)
    assert files_in(dest) == ["sous/dossier/bon.ipynb"]
    assert not any("ne pas lire" in p.read_text() for p in dest.rglob("*") if p.is_file())
    assert sorted(report.skipped) == sorted(
        [
            "« sous/dossier/gros.ipynb » ignoré : trop gros (0,0 Mio, au plus 0,0 Mio par fichier).",
            "« sous/dossier/lien.ipynb » ignoré : c'est un lien symbolique.",
            "« sous/dossier/tube.ipynb » ignoré : c'est un tube nommé (FIFO).",
            "« sous/lien-dossier » ignoré : c'est un lien symbolique.",
        ]
    )


def test_the_caps_collect_uses_are_the_documented_ones():
    assert exchange.MAX_FILE_BYTES == 20 * 1024 * 1024
    assert exchange.MAX_SUBMISSION_BYTES == 100 * 1024 * 1024
    assert (exchange.MAX_FILES, exchange.MAX_DEPTH) == (2000, 16)
