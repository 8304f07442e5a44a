"""CSV files for French spreadsheets: one writer for the explorer and the grade export.

French Excel opens a CSV as columns only with `;` as separator, reads accents
only with a UTF-8 BOM, and reads « 2,5 » (not « 2.5 ») as a number. Scripts and
other tools want the plain CSV (`,`, decimal point, no BOM): both come from here.
"""

from __future__ import annotations

import logging

import pandas as pd

log = logging.getLogger(__name__)

#: Separator, decimal mark and encoding of each flavour.
FRENCH = {"sep": ";", "decimal": ",", "encoding": "utf-8-sig"}
PLAIN = {"sep": ",", "decimal": ".", "encoding": "utf-8"}


def csv_bytes(
    frame: pd.DataFrame, *, plain: bool = False, float_format: str | None = None
) -> bytes:
    """The table as CSV bytes: French spreadsheet flavour by default, plain CSV with `plain=True`.

    Dates are written JJ/MM/AAAA in the French flavour, ISO in the plain one.
    """
    flavour = PLAIN if plain else FRENCH
    text = frame.to_csv(
        index=False,
        sep=flavour["sep"],
        decimal=flavour["decimal"],
        date_format=None if plain else "%d/%m/%Y",
        float_format=float_format,
        lineterminator="\n",
    )
    return text.encode(flavour["encoding"])
