"""Read the spreadsheets agents really have (French CSV exports, XLSX) and write results back.

Office software in French administrations exports CSV with `;`, Windows-1252,
a title row above the header, numbers like ``1 234,5`` and dates like
``31/12/2024``. This module turns such bytes into a typed DataFrame, or
raises an `IncuboError` whose message is one French sentence a non-coder
can act on. It never lets a parser traceback through.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from incubo.errors import IncuboError

log = logging.getLogger(__name__)

#: Larger files are refused with a French sentence (the browser upload would be slow anyway).
MAX_BYTES = 60 * 1024 * 1024
_SAMPLE_LINES = 60

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_BINARY_SIGNATURES: list[tuple[bytes, str]] = [
    (b"\x89PNG\r\n\x1a\n", "une image (PNG)"),
    (b"\xff\xd8\xff", "une image (JPEG)"),
    (b"GIF87a", "une image (GIF)"),
    (b"GIF89a", "une image (GIF)"),
    (b"RIFF", "un fichier image ou son"),
    (b"II*\x00", "une image (TIFF)"),
    (b"MM\x00*", "une image (TIFF)"),
    (b"%PDF", "un document PDF"),
    (b"\x1f\x8b", "une archive compressée"),
    (b"7z\xbc\xaf", "une archive compressée"),
    (b"Rar!", "une archive compressée"),
]
_SEPARATORS = {";": "point-virgule", "\t": "tabulation", ",": "virgule", "|": "barre verticale"}

_SPACES = "[ \u00a0\u202f]"
_FR_NUMBER = re.compile(
    rf"[-+]?(?:\d{{1,3}}(?:{_SPACES}\d{{3}})+|\d{{1,3}}(?:\.\d{{3}})+|\d+)(?:,\d+)?(?:{_SPACES}?[€%])?"
)
_EN_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_FR_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LEADING_ZERO = re.compile(r"0\d+")


@dataclass
class Table:
    """A table read from a file, and what we did to read it (told to the user)."""

    frame: pd.DataFrame
    kind: str  # "csv" | "xlsx"
    encoding: str | None = None
    separator: str | None = None
    skipped_rows: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One French sentence describing how the file was read."""
        rows, cols = self.frame.shape
        parts = [
            f"{_fr_int(rows)} ligne{'s' if rows > 1 else ''} et {cols} colonne{'s' if cols > 1 else ''}"
        ]
        if self.kind == "csv":
            parts.append(
                f"encodage {self.encoding}, séparateur {_SEPARATORS.get(self.separator or '', repr(self.separator))}"
            )
        else:
            parts.append("classeur Excel")
        if self.skipped_rows:
            parts.append(
                f"{self.skipped_rows} ligne{'s' if self.skipped_rows > 1 else ''} de titre ignorée{'s' if self.skipped_rows > 1 else ''}"
            )
        return "Fichier lu : " + " ; ".join(parts) + "." + "".join(" " + n for n in self.notes)


def unreadable(message: str, code: str) -> IncuboError:
    return IncuboError(message, code=code)


def read_table(data: bytes, filename: str = "") -> Table:
    """Read an uploaded CSV or XLSX file; raise `IncuboError` (French) when it cannot be read."""
    if not data or not data.strip(b" \t\r\n\x00"):
        raise unreadable(
            "Le fichier est vide : choisissez un fichier qui contient un tableau.", "fichier-vide"
        )
    if len(data) > MAX_BYTES:
        raise unreadable(
            f"Le fichier est trop gros ({len(data) // (1024 * 1024)} Mo) : la limite est de {MAX_BYTES // (1024 * 1024)} Mo.",
            "fichier-trop-gros",
        )
    if data.startswith(_OLE):
        raise _ole_error(data)
    if data.startswith(_ZIP):
        return _read_zip(data)
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            raise unreadable(
                f"Ce fichier est {what}, pas un tableau : choisissez un fichier CSV ou Excel (.xlsx).",
                "pas-un-tableau",
            )
    text, encoding = _decode(data)
    return _read_csv_text(text, encoding)


# --- binary containers -------------------------------------------------------------------------


def _ole_error(data: bytes) -> IncuboError:
    """An OLE file: a password-protected XLSX (encrypted OOXML) or an old .xls/.doc."""
    head = data[: 1024 * 1024]
    if (
        "EncryptionInfo".encode("utf-16-le") in head
        or "EncryptedPackage".encode("utf-16-le") in head
    ):
        return unreadable(
            "Ce classeur Excel est protégé par un mot de passe : ouvrez-le dans votre tableur, "
            "retirez la protection (Fichier > Informations > Protéger le classeur), enregistrez-le, puis recommencez.",
            "classeur-protege",
        )
    if "Workbook".encode("utf-16-le") in head or "Book".encode("utf-16-le") in head:
        return unreadable(
            "Ce fichier est au format Excel 97-2003 (.xls) : ouvrez-le dans votre tableur et "
            "enregistrez-le au format .xlsx ou .csv, puis recommencez.",
            "format-xls",
        )
    return unreadable(
        "Ce fichier est un ancien document Office, pas un tableau : choisissez un fichier CSV ou Excel (.xlsx).",
        "pas-un-tableau",
    )


def _read_zip(data: bytes) -> Table:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        raise unreadable(
            "Ce fichier Excel est abîmé ou incomplet : enregistrez-le de nouveau depuis votre tableur.",
            "classeur-abime",
        ) from None
    if "xl/workbook.xml" in names:
        return _read_xlsx(data)
    if "content.xml" in names:
        raise unreadable(
            "Ce fichier est un classeur LibreOffice (.ods) : enregistrez-le au format .xlsx ou .csv, puis recommencez.",
            "format-ods",
        )
    if "word/document.xml" in names:
        raise unreadable(
            "Ce fichier est un document Word, pas un tableau : choisissez un fichier CSV ou Excel (.xlsx).",
            "pas-un-tableau",
        )
    raise unreadable(
        "Ce fichier est une archive ZIP, pas un tableau : choisissez un fichier CSV ou Excel (.xlsx).",
        "pas-un-tableau",
    )


def _read_xlsx(data: bytes) -> Table:
    try:
        sheets = pd.read_excel(
            io.BytesIO(data), sheet_name=None, header=None, dtype=object, engine="openpyxl"
        )
    except Exception:
        log.exception("openpyxl could not read the workbook")
        raise unreadable(
            "Ce classeur Excel n'a pas pu être lu : ouvrez-le dans votre tableur, enregistrez-le de nouveau, puis recommencez.",
            "classeur-illisible",
        ) from None
    notes = []
    name, raw = next(
        ((n, s) for n, s in sheets.items() if not s.dropna(how="all").empty), (None, None)
    )
    if raw is None:
        raise unreadable(
            "Le classeur ne contient aucune donnée : vérifiez que vous avez choisi le bon fichier.",
            "fichier-vide",
        )
    if len(sheets) > 1:
        notes.append(f"Le classeur a {len(sheets)} feuilles : seule la feuille « {name} » est lue.")
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    rows = [
        [("" if pd.isna(v) else v) for v in r]
        for r in raw.head(_SAMPLE_LINES).itertuples(index=False)
    ]
    header_at = _header_index([[str(v).strip() for v in r] for r in rows])
    header = [
        str(v).strip() if not (isinstance(v, float) and pd.isna(v)) else ""
        for v in raw.iloc[header_at]
    ]
    body = raw.iloc[header_at + 1 :].copy()
    body.columns = _clean_columns(header)
    frame = _finish(body)
    return Table(frame=frame, kind="xlsx", skipped_rows=header_at, notes=notes)


# --- text ----------------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise unreadable(
            "Ce fichier ne ressemble pas à un tableau (il contient des données binaires) : choisissez un fichier CSV ou Excel (.xlsx).",
            "pas-un-tableau",
        )
    for codec, label in (
        ("utf-8-sig", "UTF-8"),
        ("cp1252", "Windows-1252"),
        ("latin-1", "Latin-1"),
    ):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf"):
            label = "UTF-8 avec BOM"
        return text, label
    raise AssertionError("latin-1 decodes everything")  # pragma: no cover


def _control_ratio(text: str) -> float:
    sample = text[:20000]
    bad = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    return bad / max(1, len(sample))


def _sniff_separator(lines: list[str]) -> str:
    best, best_score = ";", -1.0
    for sep in _SEPARATORS:
        counts = [len(r) for r in csv.reader(lines, delimiter=sep)]
        if not counts:
            continue
        modal, freq = Counter(counts).most_common(1)[0]
        if modal < 2:
            continue
        score = freq / len(counts) + modal / 1000  # consistent first, then wider
        if score > best_score + 1e-9:
            best, best_score = sep, score
    return best


def _header_index(rows: list[list[str]]) -> int:
    """The first row that looks like a header: as filled as the widest rows of the sample."""
    filled = [sum(1 for v in r if str(v).strip()) for r in rows]
    if not filled:
        return 0
    widest = Counter(f for f in filled if f).most_common(1)[0][0] if any(filled) else 0
    need = max(2, (widest + 1) // 2) if widest >= 2 else 1
    for i, f in enumerate(filled):
        if f >= need:
            return i
    return 0


def _read_csv_text(text: str, encoding: str) -> Table:
    if _control_ratio(text) > 0.01:
        raise unreadable(
            "Ce fichier ne ressemble pas à un tableau : choisissez un fichier CSV (texte) ou Excel (.xlsx).",
            "pas-un-tableau",
        )
    all_lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    sample = [ln for ln in all_lines[: _SAMPLE_LINES * 3] if ln.strip()][:_SAMPLE_LINES]
    if not sample:
        raise unreadable(
            "Le fichier est vide : choisissez un fichier qui contient un tableau.", "fichier-vide"
        )
    sep = _sniff_separator(sample)
    # Physical line of the header: skip blank lines and title rows before it.
    non_blank = [i for i, ln in enumerate(all_lines[: _SAMPLE_LINES * 3]) if ln.strip()]
    rows = list(csv.reader(sample, delimiter=sep))
    header_at = _header_index(rows)
    skip = non_blank[header_at] if header_at < len(non_blank) else 0
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            skiprows=skip,
            header=0,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.EmptyDataError:
        raise unreadable(
            "Le fichier ne contient aucune donnée : choisissez un fichier qui contient un tableau.",
            "fichier-vide",
        ) from None
    except pd.errors.ParserError as exc:
        log.info("CSV parser error: %s", exc)
        match = re.search(r"line (\d+)", str(exc))
        where = f" (ligne {int(match.group(1)) + skip})" if match else ""
        raise unreadable(
            f"Une ligne du fichier{where} a plus de valeurs que l'en-tête : vérifiez le séparateur ou les guillemets, puis recommencez.",
            "csv-irregulier",
        ) from None
    frame.columns = _clean_columns([str(c) for c in frame.columns])
    frame = _finish(frame.fillna(""))
    if frame.shape[1] < 1:
        raise unreadable(
            "Aucune colonne n'a été trouvée dans ce fichier : vérifiez qu'il s'agit bien d'un tableau.",
            "pas-un-tableau",
        )
    titles = sum(1 for r in rows[:header_at] if any(v.strip() for v in r))
    return Table(frame=frame, kind="csv", encoding=encoding, separator=sep, skipped_rows=titles)


# --- cleaning and typing --------------------------------------------------------------------------


def _clean_columns(names: list[str]) -> list[str]:
    out: list[str] = []
    seen: Counter[str] = Counter()
    for i, name in enumerate(names, start=1):
        name = re.sub(r"\s+", " ", str(name)).strip()
        if not name or name.startswith("Unnamed:") or name == "nan":
            name = f"Colonne {i}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop empty rows and empty unnamed columns, then type each column."""
    blank = pd.DataFrame({c: _blank_mask(frame[c]) for c in frame.columns}, index=frame.index)
    frame = frame.loc[~blank.all(axis=1)]
    keep = [
        c
        for c in frame.columns
        if not (str(c).startswith("Colonne ") and blank.loc[frame.index, c].all())
    ]
    frame = frame[keep].reset_index(drop=True)
    return pd.DataFrame({c: convert_column(frame[c]) for c in frame.columns})


def _blank_mask(col: pd.Series) -> pd.Series:
    return col.isna() | (col.astype(str).str.strip() == "")


def convert_column(col: pd.Series) -> pd.Series:
    """French numbers → numbers, JJ/MM/AAAA → dates; codes with leading zeros stay text."""
    if col.dtype != object and not pd.api.types.is_string_dtype(col):
        return col
    values = col.map(lambda v: "" if v is None or (isinstance(v, float) and pd.isna(v)) else v)
    if not all(isinstance(v, str) for v in values):
        return _convert_mixed(values)
    text = values.astype(str).str.strip()
    present = text != ""
    if not present.any():
        return text
    filled = text[present]
    if filled.str.fullmatch(_FR_DATE).all():
        parsed = pd.to_datetime(text.where(present, None), format="%d/%m/%Y", errors="coerce")
        if parsed[present].notna().all():
            return parsed
    if filled.str.fullmatch(_ISO_DATE).all():
        parsed = pd.to_datetime(text.where(present, None), format="%Y-%m-%d", errors="coerce")
        if parsed[present].notna().all():
            return parsed
    if filled.str.fullmatch(_LEADING_ZERO).any():
        return text  # codes (postal, INSEE, SIREN) keep their zeros
    if filled.str.fullmatch(_EN_NUMBER).all():
        return _as_number(pd.to_numeric(text.where(present, None), errors="coerce"))
    if filled.str.fullmatch(_FR_NUMBER).all():
        cleaned = (
            text.str.replace(r"[ \u00a0\u202f€%]", "", regex=True)
            .str.replace(".", "", regex=False)
            .str.replace(",", ".", regex=False)
        )
        return _as_number(pd.to_numeric(cleaned.where(present, None), errors="coerce"))
    return text


def _convert_mixed(values: pd.Series) -> pd.Series:
    """Excel columns: real numbers and dates mixed with typed text (« 12 000,75 »)."""
    import datetime as dt

    filled = [v for v in values if not (isinstance(v, str) and not v.strip())]
    if filled and all(isinstance(v, (dt.date, dt.datetime, pd.Timestamp)) for v in filled):
        return pd.to_datetime(values.replace("", None), errors="coerce")
    numbers = values.map(_scalar_number)
    if (
        filled
        and numbers[values.map(lambda v: not (isinstance(v, str) and not v.strip()))].notna().all()
    ):
        return _as_number(numbers)
    return (
        values.map(lambda v: v if isinstance(v, str) else format_value(v)).astype(str).str.strip()
    )


def _scalar_number(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if _EN_NUMBER.fullmatch(text):
        return float(text)
    if _FR_NUMBER.fullmatch(text) and not _LEADING_ZERO.fullmatch(text):
        return float(re.sub(r"[ \u00a0\u202f€%.]", "", text).replace(",", "."))
    return None


def _as_number(series: pd.Series) -> pd.Series:
    series = series.astype("float64")
    finite = series.dropna()
    if len(finite) and (finite == finite.round()).all() and finite.abs().max() < 2**53:
        return series.astype("Int64")
    return series


# --- display and export -------------------------------------------------------------------------


def _fr_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def format_value(value) -> str:
    """A cell as a French reader expects it: `1 234,5`, `31/12/2024`, empty for missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and pd.isna(value):
        return ""
    if isinstance(value, pd.Timestamp):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int) or (
        hasattr(value, "is_integer")
        and isinstance(value, float)
        and value.is_integer()
        and abs(value) < 1e15
    ):
        return _fr_int(int(value))
    if isinstance(value, float):
        text = f"{value:,.2f}".rstrip("0").rstrip(".")
        return text.replace(",", "\u202f").replace(".", ",")
    try:
        import numpy as np

        if isinstance(value, np.integer):
            return _fr_int(int(value))
        if isinstance(value, np.floating):
            return format_value(float(value))
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """CSV the way a French spreadsheet opens it: `;`, decimal comma, JJ/MM/AAAA, UTF-8 with BOM."""
    from incubo.spreadsheet import csv_bytes

    return csv_bytes(frame)


def to_xlsx_bytes(frame: pd.DataFrame, sheet: str = "Résultat") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        frame.to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()
