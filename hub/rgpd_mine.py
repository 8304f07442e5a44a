"""The learner's own archive (« Télécharger mes données »): the export's layout, gathered as the learner.

Runs in the learner's own server, with the learner's rights only, and writes with the
trainer's export's writer (`incubo.rgpd_export.write`), so both have the same files and README:

- statements: the learner's own, through the LRS gate or from the journal on one machine
  (`incubo.hub.rgpd_page.my_statements`), and those still waiting in (or refused by) their
  spool; séance answers are among them;
- grades: the `scored` statements autograde recorded for the learner
  (`incubo.rgpd_export.grades_of`), as the export's `notes.csv`;
- submissions and feedback: the learner's own folders of the exchange, reached through their
  view (`~/.incubo/echange/<course>/inbound` and `feedback`, see `incubo.exchange`), copied
  without following any link below them (`copies/echange-inbound`, `copies/echange-feedback`);
- research choices and acknowledgements of the notice: the caller's own rows of the RGPD
  store, from the gate's `rgpd/donnees` (`incubo.hub.rgpd_client.own_rows`).

What the learner's rights do not reach (the trainer's gradebook and grading copies) is said in
the archive's README, with how to ask for the rest (`incubo rgpd exporter`).
"""

from __future__ import annotations

import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from incubo.exchange import VIEW_DIR
from incubo.rgpd_export import AgentData, grades_of, write

#: The folder the archive's files are in (so that unzipping makes one folder; the archive is
#: `incubo.hub.rgpd_page.ARCHIVE`, `mes-donnees-incubo.zip`).
TOP = "mes-donnees-incubo"


def own_folders(home: Path, course: str) -> list[tuple[str, Path]]:
    """The learner's exchange folders (their hand-ins, their feedback) as the export names them."""
    view = home / VIEW_DIR / course
    found = []
    for kind in ("inbound", "feedback"):
        # the view's entry is a link the hub made to the learner's own folder: resolved here,
        # nothing below it is followed (`incubo.rgpd_export.copy_folders`)
        real = Path(os.path.realpath(view / kind))
        if real.is_dir():
            found.append((f"echange-{kind}", real))
    return found


def pending(user: str, known: set[str]) -> list[dict[str, Any]]:
    """The learner's statements still waiting in their spool, or set aside there as refused
    (`refusees`), that the LRS does not hold (as the trainer's export reads the spools)."""
    from incubo import events, xapi
    from incubo.rgpd_places import read_spool_file

    found = []
    folder = events.spool_dir()
    for sub in (folder, folder / "refusees"):
        for path in sorted(sub.glob("*.json")) if sub.is_dir() else []:
            stmt = read_spool_file(path)
            sid = str((stmt or {}).get("id", ""))
            if stmt and xapi.learner_of(stmt) == user and sid not in known:
                known.add(sid)
                found.append(stmt)
    return found


def own_data(
    user: str,
    home: Path,
    course: str,
    statements: list[dict[str, Any]],
    rows: dict[str, list[dict[str, Any]]],
    state: dict[str, Any],
) -> AgentData:
    """What the learner's server can read about its learner, as the export's `AgentData`."""
    from_lrs = len(statements)
    statements = statements + pending(user, {str(s.get("id", "")) for s in statements})
    statements.sort(key=lambda s: str(s.get("timestamp", "")))
    return AgentData(
        user,
        statements=statements,
        from_lrs=from_lrs,
        grades=grades_of(statements),
        choices=list(rows.get("choix_recherche") or []),
        acks=list(rows.get("accuses_notice") or []),
        copies=own_folders(home, course),
        research=(bool(state.get("inclus")), str(state.get("base") or "")),
        own=True,
    )


def archive(data: AgentData) -> bytes:
    """The export written in a private temporary folder, zipped under `mes-donnees-incubo/`."""
    with tempfile.TemporaryDirectory(prefix="incubo-mes-donnees-") as tmp:
        out = Path(tmp) / TOP
        write(data, out)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(out.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    zipped.write(path, f"{TOP}/{path.relative_to(out).as_posix()}")
        return buffer.getvalue()
