"""Small-group suppression (k-anonymity) for every table a report publishes.

Primary suppression hides each count of 1 to k−1 learners (a margin too).
Secondary suppression then hides more cells until no hidden cell can be
worked out from what is published: in every row and column (its total
included) either nothing or at least two cells are hidden, and a linear
programme confirms that each hidden cell can take more than one value given
the published cells and totals (non-negative counts). Zeros stay visible:
they describe nobody.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

TOTAL = "Total"
SECONDARY = "supprimé"


def primary_label(k: int) -> str:
    return f"< {k}"


@dataclass
class Protected:
    """A count table with margins, and which cells may not be published."""

    counts: pd.DataFrame  # with margins; never publish directly
    primary: pd.DataFrame  # bool, same shape
    secondary: pd.DataFrame  # bool, same shape
    k: int

    @property
    def mask(self) -> pd.DataFrame:
        return self.primary | self.secondary

    def published(self) -> pd.DataFrame:
        """What may be shown: counts, « < k » for small groups, « supprimé » for cells hidden to protect them."""
        out = self.counts.astype(object).copy()
        out[self.primary] = primary_label(self.k)
        out[self.secondary & ~self.primary] = SECONDARY
        return out

    def value(self, row, col):
        """The published value of one cell, or None when it is suppressed."""
        return None if self.mask.loc[row, col] else int(self.counts.loc[row, col])

    @property
    def n_suppressed(self) -> int:
        return int(self.mask.to_numpy().sum())


def protect(
    table: pd.DataFrame | pd.Series, k: int = 5, *, row_totals: bool = True, col_totals: bool = True
) -> Protected:
    """Suppress small cells of a count table and add the margins that will be published."""
    if isinstance(table, pd.Series):
        table = table.to_frame(name=table.name if table.name is not None else "effectif")
        row_totals = False
    values = table.fillna(0).to_numpy(dtype=float)
    r, c = values.shape
    full = np.zeros((r + 1, c + 1))
    full[:r, :c] = values
    full[:r, c] = values.sum(axis=1)
    full[r, :c] = values.sum(axis=0)
    full[r, c] = values.sum()
    active = np.zeros_like(full, dtype=bool)  # cells that are published at all
    active[:r, :c] = True
    if row_totals:
        active[:r, c] = True
    if col_totals:
        active[r, :c] = True
    if row_totals and col_totals:
        active[r, c] = True
    primary = active & (full > 0) & (full < k)
    mask = primary.copy()
    for _ in range(full.size):
        if not _line_rule(full, mask, active, r, c, row_totals, col_totals) and not _lp_rule(
            full, mask, active, r, c, row_totals, col_totals, primary, k
        ):
            break
    rows = list(table.index) + [TOTAL]
    cols = list(table.columns) + [TOTAL]
    keep_rows = rows if col_totals else rows[:-1]
    keep_cols = cols if row_totals else cols[:-1]
    frame = lambda a: pd.DataFrame(a, index=rows, columns=cols).loc[keep_rows, keep_cols]  # noqa: E731
    counts = frame(full).astype(int)
    return Protected(counts, frame(primary), frame(mask & ~primary), k)


def _lines(r: int, c: int, row_totals: bool, col_totals: bool) -> list[list[tuple[int, int]]]:
    """The additive relations a reader can use: each row with its total, each column with its total."""
    lines = []
    if row_totals:
        lines += [[(i, j) for j in range(c + 1)] for i in range(r + (1 if col_totals else 0))]
    if col_totals:
        lines += [[(i, j) for i in range(r + 1)] for j in range(c + (1 if row_totals else 0))]
    return lines


def _pick(
    full, mask, active, cells, c_total: tuple[int, int] | None = None
) -> tuple[int, int] | None:
    """The cheapest extra cell to hide among `cells`: the smallest non-zero inner cell, else a margin, else a zero."""
    candidates = [x for x in cells if active[x] and not mask[x]]
    if not candidates:
        return None
    inner_r, inner_c = full.shape[0] - 1, full.shape[1] - 1

    def cost(x):
        is_margin = x[0] == inner_r or x[1] == inner_c
        return (full[x] == 0, is_margin, full[x])

    return min(candidates, key=cost)


def _line_rule(full, mask, active, r, c, row_totals, col_totals) -> bool:
    changed = False
    for line in _lines(r, c, row_totals, col_totals):
        hidden = [x for x in line if mask[x]]
        if len(hidden) == 1:
            extra = _pick(full, mask, active, line)
            if extra is not None:
                mask[extra] = True
                changed = True
    return changed


def _lp_rule(full, mask, active, r, c, row_totals, col_totals, primary, k) -> bool:
    """Hide one more cell next to any hidden cell whose value the published figures pin down."""
    for cell in exposed_cells(full, mask, active, r, c, row_totals, col_totals, primary, k):
        i, j = cell
        extra = _pick(full, mask, active, [(i, y) for y in range(c + 1)]) or _pick(
            full, mask, active, [(x, j) for x in range(r + 1)]
        )
        if extra is None:
            extra = _pick(full, mask, active, [(x, y) for x in range(r + 1) for y in range(c + 1)])
        if extra is not None:
            mask[extra] = True
            return True
    return False


def exposed_cells(
    full, mask, active, r, c, row_totals, col_totals, primary, k
) -> list[tuple[int, int]]:
    """Hidden cells whose exact value follows from the published cells and totals.

    A reader knows a « < k » cell holds 1 to k−1 and a « supprimé » cell any count ≥ 0.
    """
    hidden = [tuple(x) for x in np.argwhere(mask & active)]
    if not hidden:
        return []
    from scipy.optimize import linprog  # only when something is hidden (a costly import)

    index = {x: n for n, x in enumerate(hidden)}
    a_eq, b_eq = [], []
    for line in _lines(r, c, row_totals, col_totals):
        line = [x for x in line if active[x]]
        total = line[-1]  # the margin closes the line
        coeffs = np.zeros(len(hidden))
        rhs = 0.0
        for x in line:
            sign = -1.0 if x == total else 1.0
            if mask[x]:
                coeffs[index[x]] += sign
            else:
                rhs -= sign * full[x]
        if coeffs.any():
            a_eq.append(coeffs)
            b_eq.append(rhs)
    if not a_eq:
        return []
    bounds = [(1, k - 1) if primary[x] else (0, None) for x in hidden]
    exposed = []
    for n, x in enumerate(hidden):
        objective = np.zeros(len(hidden))
        objective[n] = 1.0
        lo = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        hi = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if (
            lo.status == 0
            and hi.status == 0
            and math.floor(-hi.fun + 1e-6) <= math.ceil(lo.fun - 1e-6)
        ):
            exposed.append(x)  # a single whole number fits
    return exposed


def group_mask(sizes: pd.Series, k: int = 5) -> pd.Series:
    """Which groups' statistics must be hidden when their sizes and the overall total are published."""
    prot = protect(sizes.rename("effectif"), k)
    return prot.mask["effectif"].drop(TOTAL)
