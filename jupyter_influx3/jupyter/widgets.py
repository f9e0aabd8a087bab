"""``%influx3 explore``: an ipywidgets explorer over any client (engine or HTTP).

Pick a database, a table, fields, tag filters, a time range, an aggregate and a window; the explorer
builds one SQL query (shown, with its parameters bound, so it can be copied into a ``%%sql`` cell),
runs it, and draws the result as a plotly figure (one line per field, or per field and tag value with
"split by") above a table of the first rows. Refresh re-runs it.

The chart is a plain plotly output (``application/vnd.plotly.v1+json``) inside an ``Output`` widget,
not a ``FigureWidget``: plotly 6's FigureWidget carries the whole plotly.js bundle (~5 MB) in its
widget state, which a saved notebook keeps; the plain figure weighs what its points weigh.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any, Optional

import ipywidgets as W
import pandas as pd

from .client import Client, Influx3Error

TIME_RANGES = [("all", ""), ("last 15 minutes", "15 minutes"), ("last hour", "1 hour"),
               ("last 6 hours", "6 hours"), ("last 24 hours", "24 hours"), ("last 7 days", "7 days"),
               ("last 30 days", "30 days")]
AGGREGATES = ["mean", "min", "max", "sum", "count", "median", "none (raw points)"]
_SQL_AGG = {"mean": "avg", "min": "min", "max": "max", "sum": "sum", "count": "count", "median": "median"}
WINDOWS = ["auto", "1 second", "10 seconds", "1 minute", "5 minutes", "15 minutes", "1 hour", "6 hours",
           "1 day", "7 days"]
#: Nice window sizes (seconds) for "auto": the smallest giving at most MAX_BUCKETS buckets.
_NICE = [(1, "1 second"), (5, "5 seconds"), (10, "10 seconds"), (30, "30 seconds"), (60, "1 minute"),
         (300, "5 minutes"), (900, "15 minutes"), (1800, "30 minutes"), (3600, "1 hour"), (3 * 3600, "3 hours"),
         (6 * 3600, "6 hours"), (12 * 3600, "12 hours"), (86400, "1 day"), (7 * 86400, "7 days"),
         (30 * 86400, "30 days")]
MAX_BUCKETS = 500
RAW_POINT_LIMIT = 50_000
TABLE_ROWS = 10
MAX_TAG_VALUES = 200
NUMERIC = {"float64", "int64", "uint64", "bool"}
NO_SPLIT = "(none)"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
CHART_LAYOUT = {"height": 360, "margin": {"l": 40, "r": 10, "t": 30, "b": 40}, "xaxis": {"title": "time"},
                "showlegend": True}
TABLE_STYLE = ("<style>.influx3-explorer-table{border-collapse:collapse;font-size:12px}"
               ".influx3-explorer-table th,.influx3-explorer-table td{padding:2px 10px;text-align:right;"
               "border-bottom:1px solid var(--jp-border-color2,#ddd)}</style>")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def auto_window(span_seconds: float) -> str:
    for secs, text in _NICE:
        if span_seconds / secs <= MAX_BUCKETS:
            return text
    return _NICE[-1][1]


def build_query(table: str, fields: list[str], *, aggregate: str, window: str, time_range: Optional[str],
                filters: dict[str, list[str]], split_by: Optional[str]) -> tuple[str, dict]:
    """The explorer's SQL and its parameters (tag filter values are always bound, never pasted)."""
    params: dict[str, Any] = {}
    where = []
    if time_range:
        where.append(f"time >= now() - INTERVAL '{time_range}'")
    for i, (tag, values) in enumerate(sorted(filters.items())):
        if not values:
            continue
        names = []
        for j, v in enumerate(values):
            key = f"t{i}_{j}"
            params[key] = v
            names.append(f"${key}")
        where.append(f"{quote_ident(tag)} IN ({', '.join(names)})")
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    split = [quote_ident(split_by)] if split_by else []
    if aggregate not in _SQL_AGG:
        cols = ["time", *split, *(quote_ident(f) for f in fields)]
        sql = f"SELECT {', '.join(cols)} FROM {quote_ident(table)}{where_sql} ORDER BY time LIMIT {RAW_POINT_LIMIT}"
        return sql, params
    fn = _SQL_AGG[aggregate]
    cols = [f"date_bin(INTERVAL '{window}', time) AS time", *split]
    cols += [f"{fn}({quote_ident(f)}) AS {quote_ident(f)}" for f in fields]
    group = ", ".join(str(i + 1) for i in range(1 + len(split)))
    sql = f"SELECT {', '.join(cols)} FROM {quote_ident(table)}{where_sql} GROUP BY {group} ORDER BY 1"
    return sql, params


class Explorer:
    """The explorer widget (displayed by ``%influx3 explore``; `.widget` is the ipywidgets box)."""

    def __init__(self, client: Client, database: Optional[str] = None, table: Optional[str] = None,
                 auto_refresh: bool = True):
        self.client = client
        self.result: Optional[pd.DataFrame] = None
        self.sql: str = ""
        self.params: dict = {}
        self._busy = False
        dbs = [d for d in client.databases() if d != "_internal"]
        self.database = W.Dropdown(description="database", options=dbs,
                                   value=database if database in dbs else (dbs[0] if dbs else None))
        self.table = W.Dropdown(description="table", options=[])
        self.fields = W.SelectMultiple(description="fields", options=[], rows=5)
        self.split_by = W.Dropdown(description="split by", options=[NO_SPLIT])
        self.time_range = W.Dropdown(description="time", options=TIME_RANGES, value="")
        self.aggregate = W.Dropdown(description="aggregate", options=AGGREGATES, value="mean")
        self.window = W.Dropdown(description="window", options=WINDOWS, value="auto")
        self.refresh_button = W.Button(description="Refresh", icon="refresh", button_style="primary")
        self.tag_box = W.VBox([])
        self.tag_filters: dict[str, W.SelectMultiple] = {}
        self.status = W.HTML()
        self.sql_view = W.HTML()
        self.chart = W.Output()
        self.figure = None  # the last plotly Figure drawn
        self.table_view = W.HTML()
        controls = W.HBox([
            W.VBox([self.database, self.table, self.fields]),
            W.VBox([self.time_range, self.aggregate, self.window, self.split_by, self.refresh_button]),
            W.VBox([W.HTML("<b>tag filters</b> (none selected = all)"), self.tag_box]),
        ])
        self.widget = W.VBox([controls, self.status, self.chart, self.table_view, self.sql_view])
        self.database.observe(lambda _: self._load_tables(), names="value")
        self.table.observe(lambda _: self._load_table(), names="value")
        self.refresh_button.on_click(lambda _: self.refresh())
        self._load_tables(table)
        if auto_refresh and self.table.value:
            self.refresh()

    # -- display ---------------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)

    # -- loading choices -------------------------------------------------------------------------
    def _load_tables(self, prefer: Optional[str] = None) -> None:
        db = self.database.value
        tables = self._safe(lambda: self.client.tables(db), []) if db else []
        self.table.options = tables
        self.table.value = prefer if prefer in tables else (tables[0] if tables else None)
        if not tables:
            self._load_table()

    def _load_table(self) -> None:
        db, table = self.database.value, self.table.value
        self.tag_filters = {}
        if not db or not table:
            self.fields.options = []
            self.split_by.options = [NO_SPLIT]
            self.tag_box.children = []
            return
        cols = self._safe(lambda: self.client.columns(table, db), None)
        if cols is None:
            return
        fields = [r.column for r in cols.itertuples() if r.kind == "field" and r.type in NUMERIC]
        tags = [r.column for r in cols.itertuples() if r.kind == "tag"]
        self.fields.options = fields
        floats = [r.column for r in cols.itertuples() if r.kind == "field" and r.type == "float64"]
        self.fields.value = tuple((floats or fields)[:1])  # a measurement, rather than a count, first
        self.split_by.options = [NO_SPLIT, *tags]
        self.split_by.value = NO_SPLIT
        boxes = []
        for tag in tags:
            values = self._safe(lambda: self.client.sql(
                f"SELECT DISTINCT {quote_ident(tag)} AS v FROM {quote_ident(table)} "
                f"WHERE {quote_ident(tag)} IS NOT NULL ORDER BY 1 LIMIT {MAX_TAG_VALUES}", db, format="pandas"), None)
            options = [] if values is None else [str(v) for v in values["v"]]
            sel = W.SelectMultiple(description=tag, options=options, rows=min(4, max(1, len(options))))
            self.tag_filters[tag] = sel
            boxes.append(sel)
        self.tag_box.children = boxes

    def _safe(self, fn, default):
        try:
            return fn()
        except Influx3Error as exc:
            self._show_status(f"error: {exc.message}", error=True)
            return default

    def _show_status(self, text: str, error: bool = False) -> None:
        color = "#b00" if error else "inherit"
        self.status.value = f'<span style="color:{color}">{html.escape(text)}</span>'

    # -- running ---------------------------------------------------------------------------------
    def _window(self, db: str, table: str, time_range: Optional[str], filters_sql: tuple[str, dict]) -> str:
        if self.window.value != "auto":
            return self.window.value
        if time_range:
            amount, unit = time_range.split(" ", 1)
            seconds = {"minutes": 60, "hour": 3600, "hours": 3600, "days": 86400}[unit] * int(amount)
            return auto_window(seconds)
        where, params = filters_sql
        span = self.client.sql(f"SELECT min(time) AS lo, max(time) AS hi FROM {quote_ident(table)}{where}",
                               db, params or None, format="pandas")
        lo, hi = span["lo"].iloc[0], span["hi"].iloc[0]
        if pd.isna(lo) or pd.isna(hi):
            return "1 minute"
        return auto_window(max((hi - lo).total_seconds(), 1.0))

    def refresh(self) -> Optional[pd.DataFrame]:
        """Run the query the controls describe; update chart, table and status. Returns the data."""
        db, table = self.database.value, self.table.value
        fields = list(self.fields.value)
        if not db or not table:
            self._show_status("no table to show: pick a database and a table")
            return None
        if not fields:
            self._show_status("pick at least one field")
            return None
        filters = {tag: list(sel.value) for tag, sel in self.tag_filters.items() if sel.value}
        split = None if self.split_by.value == NO_SPLIT else self.split_by.value
        time_range = self.time_range.value or None
        aggregate = self.aggregate.value
        started = time.perf_counter()
        try:
            window = "1 minute"
            if aggregate in _SQL_AGG:
                probe, probe_params = build_query(table, fields, aggregate="none", window="", time_range=None,
                                                  filters=filters, split_by=None)
                where = probe[probe.find(" WHERE "):probe.find(" ORDER BY")] if " WHERE " in probe else ""
                window = self._window(db, table, time_range, (where, probe_params))
            self.sql, self.params = build_query(table, fields, aggregate=aggregate, window=window,
                                                time_range=time_range, filters=filters, split_by=split)
            data = self.client.sql(self.sql, db, self.params or None, format="pandas")
        except Influx3Error as exc:
            self._show_status(f"error: {exc.message}", error=True)
            return None
        elapsed = time.perf_counter() - started
        self.result = data
        self._draw(data, fields, split)
        shown = min(TABLE_ROWS, len(data))
        cut = f"showing {shown} of {len(data)} rows" if len(data) > shown else f"{len(data)} rows"
        self.table_view.value = TABLE_STYLE + data.head(TABLE_ROWS).to_html(index=False, border=0,
                                                                             classes="influx3-explorer-table") + \
            f'<p style="font-size:smaller;opacity:0.8">{cut}</p>'
        params = "" if not self.params else f"<br>params: <code>{html.escape(repr(self.params))}</code>"
        self.sql_view.value = f"<details><summary>SQL</summary><pre>{html.escape(self.sql)}</pre>{params}</details>"
        self._show_status(f"{len(data)} rows in {elapsed:.2f} s")
        return data

    def _draw(self, data: pd.DataFrame, fields: list[str], split: Optional[str]) -> None:
        traces = []

        def times(frame: pd.DataFrame) -> list:
            # ISO text: a FigureWidget sends datetimes to the browser as integer arrays (a numeric axis)
            return pd.to_datetime(frame["time"]).dt.strftime("%Y-%m-%dT%H:%M:%S.%f").tolist()

        if split and split in data.columns:
            for value, part in data.groupby(split, sort=True, dropna=False):
                for f in fields:
                    traces.append({"x": times(part), "y": part[f].tolist(), "name": f"{f} {split}={value}"})
        else:
            for f in fields:
                traces.append({"x": times(data), "y": data[f].tolist(), "name": f})
        import plotly.graph_objects as go

        figure = go.Figure(layout=CHART_LAYOUT)
        for t in traces:
            figure.add_scatter(x=t["x"], y=t["y"], name=t["name"],
                               mode="lines+markers" if len(t["x"]) < 200 else "lines")
        figure.update_layout(title=f"{self.table.value} ({self.aggregate.value})")
        self.figure = figure
        # set as the Output's content directly (no kernel needed); JupyterLab draws plotly's mime type
        self.chart.outputs = ({"output_type": "display_data", "metadata": {},
                               "data": {PLOTLY_MIME: json.loads(figure.to_json()),
                                        "text/plain": f"<chart: {len(traces)} line(s)>"}},)
