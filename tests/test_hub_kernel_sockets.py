"""Learners' kernels talk to their server over Unix sockets in a folder only the learner reaches.

Over TCP, thirty servers starting kernels at once picked the same free port twice: one
learner's kernel died on « Address already in use » and their websocket dropped
(`benchmarks/hub.py --learners 30`, 29/30). A real hub, two learners, real kernels.
"""

from __future__ import annotations

import json
import os
import pwd
import stat

import pytest
from hub_support import start_hub

from incubo.hub import accounts

pytestmark = pytest.mark.slow

WHERE = (
    "import json, os\n"
    "from ipykernel import get_connection_file\n"
    "f = get_connection_file()\n"
    "info = json.load(open(f))\n"
    "print(json.dumps({'file': f, 'transport': info['transport'], 'ip': info['ip'],\n"
    "                  'runtime': os.environ.get('JUPYTER_RUNTIME_DIR')}))\n"
)


def probe(target: dict) -> str:
    """Code that tries to list, read and connect to another learner's kernel sockets."""
    return (
        "import os, socket\n"
        f"folder, conn, sock = {os.path.dirname(target['file'])!r}, {target['file']!r}, "
        f"{target['ip'] + '-1'!r}\n"
        "for label, attempt in [('list', lambda: os.listdir(folder)),\n"
        "                       ('read', lambda: open(conn).read()),\n"
        "                       ('connect', lambda: socket.socket(socket.AF_UNIX).connect(sock))]:\n"
        "    try:\n"
        "        attempt()\n"
        "        print(label, 'OK')\n"
        "    except PermissionError:\n"
        "        print(label, 'refusé')\n"
    )


def test_kernels_use_private_unix_sockets_removed_with_the_account():
    with start_hub() as hub:
        a, b = hub.new_user(), hub.new_user()
        lab_a, lab_b = hub.labs(a, b)
        where_a = json.loads(lab_a.run(WHERE)["stdout"])
        folder = accounts.KERNEL_SOCKETS / hub.unix_user(a)
        assert where_a["transport"] == "ipc", where_a
        assert where_a["runtime"] == str(folder)
        assert os.path.dirname(where_a["file"]) == str(folder)
        assert where_a["ip"].startswith(str(folder) + "/")
        st = os.stat(folder)
        owner = pwd.getpwnam(hub.unix_user(a)).pw_uid
        assert st.st_uid == owner and st.st_mode & 0o777 == 0o700  # (Jupyter adds the sticky bit)
        parent = os.stat(accounts.KERNEL_SOCKETS)
        assert parent.st_uid == 0 and stat.S_IMODE(parent.st_mode) == 0o711
        lines = lab_b.run(probe(where_a))["stdout"].splitlines()
        assert lines == ["list refusé", "read refusé", "connect refusé"], lines
        assert json.loads(lab_b.run(WHERE)["stdout"])["transport"] == "ipc"
        accounts.remove_account(a)
        assert not folder.exists()


def test_tcp_when_the_folder_cannot_be_made(monkeypatch, caplog):
    assert accounts.prepare_kernel_sockets("jupyter-nobody-here-00") is None  # no such account
    monkeypatch.setattr(accounts, "KERNEL_SOCKETS", accounts.KERNEL_SOCKETS / ("x" * 60))
    assert accounts.prepare_kernel_sockets("root") is None  # socket paths would pass 107 bytes
    assert "TCP" in caplog.text
