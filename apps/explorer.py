"""« Explorer un tableau »: upload a CSV or XLSX, filter, group, chart, download — no code.

Every step is an ordinary labelled form control (keyboard and screen-reader
usable); results are shown as HTML tables with captions and charts as PNG
images with a text alternative that states the values.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import re

import ipywidgets as w
import pandas as pd

from incubo.apps import tabular_io
from incubo.apps.common import Status, guarded, header, section, show, table_html
from incubo.errors import IncuboError

log = logging.getLogger(__name__)

PREVIEW_ROWS = 10
RESULT_ROWS = 50
CHART_MAX_GROUPS = 30
EAGER_DOWNLOAD_ROWS = 20_000
COMBO_OPTIONS = 200
_WIDE = {"description_width": "11em"}
_LAYOUT = w.Layout(width="34em")

OPERATORS = [
    ("est égal à", "eq"),
    ("contient", "contains"),
    ("est supérieur à", "gt"),
    ("est inférieur à", "lt"),
]
AGGREGATIONS = [
    ("Compter les lignes", "count"),
    ("Faire la somme", "sum"),
    ("Faire la moyenne", "mean"),
]
AGG_LABEL = {"count": "Nombre de lignes", "sum": "Somme", "mean": "Moyenne"}


def main() -> None:
    """Entry point of notebooks/apps/explorateur.ipynb."""
    show(Explorer)


class Explorer:
    def __init__(self) -> None:
        self.table: tabular_io.Table | None = None
        self.filtered: pd.DataFrame | None = None
        self.result: pd.DataFrame | None = None
        self.result_label = ""
        self.status = Status()
        guard = guarded(self.status)
        self._file_widgets(guard)
        self._filter_widgets(guard)
        self._group_widgets(guard)
        self._chart_widgets(guard)
        self._download_widgets(guard)
        self.controls = [
            self.filter_col, self.filter_op, self.filter_val, self.filter_btn, self.unfilter_btn,
            self.group_col, self.agg, self.value_col, self.group_btn, self.chart_kind, self.chart_btn,
        ]  # fmt: skip
        self._enable(False)
        self.widget = self._layout()

    # --- widgets, one step of the page each ----------------------------------------------------

    def _file_widgets(self, guard) -> None:
        self.upload = w.FileUpload(
            accept=".csv,.txt,.tsv,.xlsx,.xls,.ods",
            multiple=False,
            description="Choisir un fichier",
        )
        self.upload.observe(guard(self._on_upload), names="value")
        self.preview = w.HTML()

    def _filter_widgets(self, guard) -> None:
        self.filter_col = w.Dropdown(
            description="Colonne à filtrer", options=[], style=_WIDE, layout=_LAYOUT
        )
        self.filter_op = w.Dropdown(
            description="Condition", options=OPERATORS, style=_WIDE, layout=_LAYOUT
        )
        self.filter_val = w.Combobox(
            description="Valeur",
            placeholder="tapez ou choisissez une valeur",
            style=_WIDE,
            layout=_LAYOUT,
        )
        self.filter_btn = w.Button(description="Appliquer le filtre", button_style="primary")
        self.unfilter_btn = w.Button(description="Retirer le filtre")
        self.filter_col.observe(guard(self._on_filter_column), names="value")
        self.filter_btn.on_click(guard(self._on_filter))
        self.unfilter_btn.on_click(guard(self._on_unfilter))
        self.filter_info = w.HTML()

    def _group_widgets(self, guard) -> None:
        self.group_col = w.Dropdown(
            description="Regrouper par", options=[], style=_WIDE, layout=_LAYOUT
        )
        self.agg = w.Dropdown(
            description="Calcul", options=AGGREGATIONS, style=_WIDE, layout=_LAYOUT
        )
        self.value_col = w.Dropdown(
            description="Colonne à calculer", options=[], style=_WIDE, layout=_LAYOUT
        )
        self.group_btn = w.Button(description="Calculer", button_style="primary")
        self.group_btn.on_click(guard(self._on_group))
        self.agg.observe(lambda change: self._sync_value_col(), names="value")
        self.result_html = w.HTML()

    def _chart_widgets(self, guard) -> None:
        self.chart_kind = w.Dropdown(
            description="Type de graphique",
            options=[("Barres", "bar"), ("Courbe", "line")],
            style=_WIDE,
            layout=_LAYOUT,
        )
        self.chart_btn = w.Button(description="Tracer le graphique", button_style="primary")
        self.chart_btn.on_click(guard(self._on_chart))
        self.chart = w.HTML()

    def _download_widgets(self, guard) -> None:
        self.download = w.HTML()
        self.prepare_csv = w.Button(description="Préparer le fichier CSV")
        self.prepare_xlsx = w.Button(description="Préparer le fichier Excel")
        self.prepare_csv.on_click(guard(lambda _b: self._links(["csv"])))
        self.prepare_xlsx.on_click(guard(lambda _b: self._links(["xlsx"])))
        self.prepare_box = w.HBox(
            [self.prepare_csv, self.prepare_xlsx], layout=w.Layout(display="none")
        )

    def _layout(self) -> w.VBox:
        """The page: the six steps in order, each under its heading."""
        return w.VBox(
            [
                header(
                    "Explorer un tableau",
                    "Ouvrez un fichier CSV ou Excel (.xlsx), filtrez-le, regroupez-le, faites un graphique "
                    "et téléchargez le résultat, sans écrire de code.",
                ),
                section("1. Choisir le fichier"),
                w.HTML(
                    "<p>Formats acceptés : CSV (séparateur point-virgule, virgule ou tabulation) et Excel (.xlsx).</p>"
                ),
                self.upload,
                self.status.widget,
                section("2. Aperçu"),
                self.preview,
                section("3. Filtrer les lignes"),
                self.filter_col,
                self.filter_op,
                self.filter_val,
                w.HBox([self.filter_btn, self.unfilter_btn]),
                self.filter_info,
                section("4. Regrouper et calculer"),
                self.group_col,
                self.agg,
                self.value_col,
                self.group_btn,
                self.result_html,
                section("5. Graphique"),
                self.chart_kind,
                self.chart_btn,
                self.chart,
                section("6. Télécharger le résultat"),
                self.download,
                self.prepare_box,
            ]  # fmt: skip
        )

    # --- steps ---------------------------------------------------------------------------------

    def _enable(self, on: bool) -> None:
        for control in self.controls:
            control.disabled = not on

    def _on_upload(self, change) -> None:
        files = change["new"]
        if not files:
            return
        item = files[0]
        name = item.get("name", "fichier")
        self.status.info(f"Lecture de « {name} »…")
        self._reset()
        table = tabular_io.read_table(bytes(item["content"]), name)
        if table.frame.empty:
            raise IncuboError(
                "Le fichier ne contient aucune ligne de données sous l'en-tête.",
                code="fichier-vide",
            )
        self.table = table
        self.filtered = table.frame
        columns = list(table.frame.columns)
        self.filter_col.options = columns
        self.group_col.options = columns
        self._sync_value_col()
        self._enable(True)
        self._on_filter_column(None)
        self.preview.value = self._frame_html(
            table.frame.head(PREVIEW_ROWS),
            f"Les {min(PREVIEW_ROWS, len(table.frame))} premières lignes de « {name} »",
        )
        self.status.ok(table.summary())
        self._set_result(table.frame, "tableau")

    def _reset(self) -> None:
        self.table = self.filtered = self.result = None
        self._enable(False)
        for out in (self.preview, self.filter_info, self.result_html, self.chart, self.download):
            out.value = ""
        self.prepare_box.layout.display = "none"

    def _numeric_columns(self) -> list[str]:
        frame = self.table.frame if self.table else pd.DataFrame()
        return [
            c
            for c in frame.columns
            if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        ]

    def _sync_value_col(self) -> None:
        if self.agg.value == "count":
            self.value_col.options = [("(sans objet pour un comptage)", "")]
        else:
            numeric = self._numeric_columns()
            self.value_col.options = numeric or [("(aucune colonne de nombres)", "")]

    def _on_filter_column(self, _change) -> None:
        if self.table is None or not self.filter_col.value:
            return
        col = self.table.frame[self.filter_col.value]
        top = col.dropna().value_counts().head(COMBO_OPTIONS).index
        self.filter_val.options = [tabular_io.format_value(v) for v in top]
        self.filter_val.value = ""

    def _on_filter(self, _button) -> None:
        frame = self.table.frame
        name, op, raw = self.filter_col.value, self.filter_op.value, self.filter_val.value.strip()
        if not raw:
            raise IncuboError(
                "Indiquez la valeur à chercher dans le champ « Valeur ».", code="valeur-manquante"
            )
        mask = _mask(frame[name], op, raw)
        self.filtered = frame[mask]
        label = dict(OPERATORS)
        op_label = next(k for k, v in label.items() if v == op)
        msg = f"Filtre : « {name} » {op_label} « {raw} » — {tabular_io.format_value(len(self.filtered))} ligne(s) sur {tabular_io.format_value(len(frame))}."
        self.filter_info.value = (
            "<p>"
            + html.escape(msg)
            + "</p>"
            + self._frame_html(self.filtered.head(PREVIEW_ROWS), "Premières lignes filtrées")
        )
        self.status.ok(msg)
        self._set_result(self.filtered, "lignes filtrées")

    def _on_unfilter(self, _button) -> None:
        self.filtered = self.table.frame
        self.filter_info.value = "<p>Aucun filtre : toutes les lignes sont prises en compte.</p>"
        self.status.ok("Filtre retiré : toutes les lignes sont prises en compte.")
        self._set_result(self.filtered, "tableau")

    def _on_group(self, _button) -> None:
        frame = self.filtered if self.filtered is not None else self.table.frame
        by, how, value = self.group_col.value, self.agg.value, self.value_col.value
        if how != "count" and not value:
            raise IncuboError(
                "Ce tableau n'a pas de colonne de nombres : choisissez « Compter les lignes ».",
                code="pas-de-nombres",
            )
        grouped = frame.groupby(by, dropna=False, sort=True)
        if how == "count":
            label = AGG_LABEL["count"]
            result = grouped.size().rename(label)
        else:
            label = f"{AGG_LABEL[how]} de {value}"
            result = getattr(grouped[value], how)().rename(label)
        result = result.reset_index()
        self._set_result(result, f"{label} par {by}")
        self.result_html.value = self._frame_html(
            result.head(RESULT_ROWS),
            f"{label} par « {by} »"
            + (
                f" ({RESULT_ROWS} premiers groupes sur {len(result)})"
                if len(result) > RESULT_ROWS
                else ""
            ),
        )
        self.status.ok(
            f"Calcul terminé : {len(result)} groupe(s). Vous pouvez tracer le graphique ou télécharger le résultat."
        )

    def _on_chart(self, _button) -> None:
        if (
            self.result is None
            or self.result.shape[1] != 2
            or not pd.api.types.is_numeric_dtype(self.result.iloc[:, 1])
        ):
            raise IncuboError(
                "Faites d'abord un calcul à l'étape 4 (regrouper et calculer), puis tracez le graphique.",
                code="pas-de-calcul",
            )
        png, alt = chart_png(self.result, self.chart_kind.value)
        self.chart.value = f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" alt="{html.escape(alt)}" style="max-width:100%">'
        self.status.ok("Graphique tracé.")

    # --- results and downloads -------------------------------------------------------------------

    def _set_result(self, frame: pd.DataFrame, label: str) -> None:
        self.result, self.result_label = frame, label
        self.download.value = ""
        if len(frame) <= EAGER_DOWNLOAD_ROWS:
            self.prepare_box.layout.display = "none"
            self._links(["csv", "xlsx"])
        else:
            self.download.value = f"<p>Le résultat compte {tabular_io.format_value(len(frame))} lignes : préparez le fichier au format voulu.</p>"
            self.prepare_box.layout.display = "flex"

    def _links(self, formats: list[str]) -> None:
        if self.result is None:
            return
        links = []
        stem = _slug(self.result_label) or "resultat"
        for fmt in formats:
            if fmt == "csv":
                data, mime, text = (
                    tabular_io.to_csv_bytes(self.result),
                    "text/csv",
                    "Télécharger en CSV",
                )
            else:
                mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                data, text = tabular_io.to_xlsx_bytes(self.result), "Télécharger en Excel (.xlsx)"
            href = f"data:{mime};base64,{base64.b64encode(data).decode()}"
            links.append(f'<a class="incubo-lien" download="{stem}.{fmt}" href="{href}">{text}</a>')
        intro = f"<p>Résultat : {html.escape(self.result_label)} ({tabular_io.format_value(len(self.result))} ligne(s)).</p>"
        self.download.value = intro + "".join(links)

    def _frame_html(self, frame: pd.DataFrame, caption: str) -> str:
        numeric = {
            i for i, c in enumerate(frame.columns) if pd.api.types.is_numeric_dtype(frame[c])
        }
        rows = [[tabular_io.format_value(v) for v in row] for row in frame.itertuples(index=False)]
        return table_html(rows, list(map(str, frame.columns)), caption, numeric)


def _slug(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()[:60]


def _parse_number(raw: str) -> float:
    cleaned = re.sub(r"[ \u00a0\u202f€%]", "", raw)
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return float(cleaned)
    except ValueError:
        raise IncuboError(
            f"« {raw} » n'est pas un nombre : écrivez par exemple 1 234,5.", code="nombre-invalide"
        ) from None


def _parse_date(raw: str) -> pd.Timestamp:
    try:
        return pd.to_datetime(raw, format="%d/%m/%Y")
    except (ValueError, TypeError):
        raise IncuboError(
            f"« {raw} » n'est pas une date : écrivez-la sous la forme JJ/MM/AAAA.",
            code="date-invalide",
        ) from None


def _mask(col: pd.Series, op: str, raw: str) -> pd.Series:
    """Rows where `col` satisfies the condition typed by the user (numbers and dates the French way)."""
    if pd.api.types.is_datetime64_any_dtype(col) and op != "contains":
        target = _parse_date(raw)
    elif pd.api.types.is_numeric_dtype(col) and op != "contains":
        target = _parse_number(raw)
    else:
        if op in ("gt", "lt"):
            raise IncuboError(
                "« supérieur à » et « inférieur à » s'appliquent aux nombres et aux dates : choisissez « est égal à » ou « contient ».",
                code="condition-invalide",
            )
        text = (
            col.map(tabular_io.format_value)
            if not pd.api.types.is_string_dtype(col)
            else col.fillna("").astype(str)
        )
        text = text.str.strip().str.casefold()
        needle = raw.casefold()
        return text.str.contains(needle, regex=False) if op == "contains" else text == needle
    if op == "eq":
        return (col == target).fillna(False).astype(bool)
    return ((col > target) if op == "gt" else (col < target)).fillna(False).astype(bool)


def chart_png(result: pd.DataFrame, kind: str) -> tuple[bytes, str]:
    """A PNG chart of a two-column result and its text alternative (the values, in French)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = result.head(CHART_MAX_GROUPS)
    labels = [tabular_io.format_value(v) or "(vide)" for v in data.iloc[:, 0]]
    values = data.iloc[:, 1].astype(float).fillna(0).tolist()
    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        if kind == "line":
            ax.plot(range(len(values)), values, marker="o", color="#000091")
        else:
            ax.bar(range(len(values)), values, color="#000091")
        ax.set_xticks(
            range(len(values)),
            labels,
            rotation=45 if len(labels) > 6 else 0,
            ha="right" if len(labels) > 6 else "center",
        )
        ax.set_ylabel(str(result.columns[1]))
        ax.set_xlabel(str(result.columns[0]))
        ax.yaxis.set_major_formatter(
            matplotlib.ticker.FuncFormatter(lambda v, _p: tabular_io.format_value(v))
        )
        ax.set_title(f"{result.columns[1]} par {result.columns[0]}")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    kind_fr = "Courbe" if kind == "line" else "Graphique en barres"
    pairs = " ; ".join(
        f"{lab} : {tabular_io.format_value(v)}"
        for lab, v in list(zip(labels, values, strict=False))[:20]
    )
    more = (
        f" (les {CHART_MAX_GROUPS} premiers groupes sur {len(result)})"
        if len(result) > CHART_MAX_GROUPS
        else ""
    )
    alt = f"{kind_fr} : {result.columns[1]} par {result.columns[0]}{more}. {pairs}."
    return buffer.getvalue(), alt
