"""A secret file is made once, private, and read back the same by every later caller."""

from __future__ import annotations

import os
import stat

import pytest

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


def test_on_create_sees_the_new_file_only_and_a_failed_make_leaves_nothing(tmp_path):
    path, created = tmp_path / "cle", []
    private_secret(path, on_create=lambda fd: created.append(os.fstat(fd).st_mode))
    private_secret(path, on_create=lambda fd: created.append("encore"))
    assert [stat.S_IMODE(mode) for mode in created] == [0o600]

    def broken() -> str:
        raise RuntimeError("pas de hasard")

    with pytest.raises(RuntimeError):
        private_secret(tmp_path / "autre", make=broken)
    assert [p.name for p in tmp_path.iterdir()] == ["cle"]


def test_the_erasure_registers_key_of_an_older_room_is_kept(tmp_path, monkeypatch):
    """An older incubo wrote the key without a newline: the same key, the same hash of a name."""
    from incubo import rgpd

    monkeypatch.setenv("INCUBO_RGPD_DIR", str(tmp_path))
    (tmp_path / rgpd.REGISTER_KEY).write_text("ab" * 32)
    before = rgpd.erasure_hash("agent-1")
    (tmp_path / rgpd.REGISTER_KEY).write_text("ab" * 32 + "\n")
    assert rgpd.erasure_hash("agent-1") == before
    (tmp_path / rgpd.REGISTER_KEY).unlink()
    made = rgpd.erasure_hash("agent-1")
    assert made != before and rgpd.erasure_hash("agent-1") == made
    assert stat.S_IMODE((tmp_path / rgpd.REGISTER_KEY).stat().st_mode) == 0o600
