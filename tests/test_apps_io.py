"""Reading the spreadsheets agents really have, and the `incubo apps` command line (no browser)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from apps_support import FIXTURES
from harness import assert_french_error, incubo

from incubo.apps import tabular_io
from incubo.errors import IncuboError


def read(data: bytes, name: str = "f.csv") -> tabular_io.Table:
    return tabular_io.read_table(data, name)


def test_french_csv_windows_1252_with_title_row_blank_rows_and_french_numbers():
    table = read((FIXTURES / "services.csv").read_bytes())
    frame = table.frame
    assert (table.encoding, table.separator, table.skipped_rows) == ("Windows-1252", ";", 1)
    assert list(frame.columns) == [
        "Service",
        "Département",
        "Effectif",
        "Budget (€)",
        "Date de mise à jour",
    ]
    assert len(frame) == 6  # the two `;;;;` rows are gone
    assert frame["Effectif"].tolist()[:2] == [1234, 210]  # « 1 234 » with a no-break space
    assert frame["Budget (€)"].tolist()[:3] == [1234.5, 98765.25, 12000.75]
    assert frame["Département"].tolist()[:3] == ["31", "31", "09"]  # codes keep their leading zero
    assert frame["Date de mise à jour"].iloc[0] == pd.Timestamp(2024, 12, 31)


@pytest.mark.parametrize(
    "encoding, bom, sep",
    [
        ("utf-8", b"", ","),
        ("utf-8", b"\xef\xbb\xbf", ";"),
        ("cp1252", b"", "\t"),
        ("latin-1", b"", ";"),
    ],
)
def test_encodings_and_separators(encoding, bom, sep):
    text = (
        sep.join(["Commune", "Population", "Part"])
        + "\n"
        + sep.join(["Béziers", "80 000", "0,5" if sep != "," else "0.5"])
        + "\n"
    )
    frame = read(bom + text.encode(encoding)).frame
    assert frame.iloc[0].tolist() == ["Béziers", 80000, 0.5]


def test_xlsx_with_title_row_and_mixed_cells():
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Titre du tableau"])
    ws.append(["Service", "Montant"])
    ws.append(["A", 1.5])
    ws.append(["B", "1 234,5"])
    buffer = io.BytesIO()
    wb.save(buffer)
    table = read(buffer.getvalue(), "x.xlsx")
    assert table.kind == "xlsx" and table.skipped_rows == 1
    assert table.frame["Montant"].tolist() == [1.5, 1234.5]


@pytest.mark.parametrize(
    "name, code, fragment",
    [
        ("image.csv", "pas-un-tableau", "une image"),
        ("vide.csv", "fichier-vide", "vide"),
        ("protege.xlsx", "classeur-protege", "mot de passe"),
    ],
)
def test_unreadable_files_raise_one_french_sentence(name, code, fragment):
    with pytest.raises(IncuboError) as err:
        read((FIXTURES / name).read_bytes(), name)
    assert err.value.code == code and fragment in err.value.message


def test_large_file_reads_quickly_enough():
    import time

    rows = "\n".join(
        f"Commune {i % 500};{i % 97:02d};{i * 3} {i % 1000:03d},5;{1 + i % 28:02d}/03/2024"
        for i in range(100_000)
    )
    data = ("Nom;Dept;Montant;Date\n" + rows).encode("cp1252")
    start = time.perf_counter()
    frame = read(data).frame
    assert time.perf_counter() - start < 10  # ~1 s here; generous for a loaded CI machine
    assert len(frame) == 100_000 and str(frame["Date"].dtype).startswith("datetime64")


def test_exports_open_in_a_french_spreadsheet():
    frame = pd.DataFrame(
        {"Service": ["DDT"], "Montant": [1234.5], "Date": [pd.Timestamp(2024, 1, 31)]}
    )
    csv = tabular_io.to_csv_bytes(frame)
    assert csv.startswith(b"\xef\xbb\xbf") and "DDT;1234,5;31/01/2024" in csv.decode("utf-8-sig")
    back = pd.read_excel(io.BytesIO(tabular_io.to_xlsx_bytes(frame)))
    assert back.iloc[0].tolist()[:2] == ["DDT", 1234.5]


def test_apps_help_is_french(jupyter_env):
    result = incubo("apps", "--help", env=jupyter_env)
    assert result.returncode == 0 and "préchauffés" in result.stdout and "8866" in result.stdout


def test_apps_bad_folder_is_a_french_error(jupyter_env, tmp_path):
    result = incubo("apps", "--apps", tmp_path / "absent", env=jupyter_env)
    assert_french_error(result, "Aucune application trouvée")


def test_apps_port_in_use_is_a_french_error(jupyter_env):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = incubo("apps", "--port", port, env=jupyter_env)
    assert_french_error(result, "déjà utilisé", "--port")
