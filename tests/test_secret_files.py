"""A secret file is made once, private, and read back the same by every later caller."""

from __future__ import annotations

import stat

from incubo.secret_files import private_secret


def test_a_secret_is_made_once_private_and_kept(tmp_path):
    path = tmp_path / "etat" / "cle"
    first = private_secret(path)
    assert len(first) == 64
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert private_secret(path, make=lambda: "autre") == first
    assert [p.name for p in path.parent.iterdir()] == ["cle"]  # no temporary file left


def test_an_existing_secret_is_read_not_replaced(tmp_path):
    path = tmp_path / "jeton"
    path.write_text("déjà-là\n", encoding="utf-8")
    assert private_secret(path, make=lambda: "nouveau") == "déjà-là"
