"""How results, write reports and errors look in a notebook (HTML) and a terminal (text)."""

from __future__ import annotations

import html
from typing import Any, Optional

import pyarrow as pa

from .client import WriteReport, convert_table


class MagicError(Exception):
    """Fails a cell with one line (IPython shows `_render_traceback_` instead of a traceback)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[0;31mError:\x1b[0m {self.message}"]


def format_seconds(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)} min {secs:.1f} s"


class ResultView:
    """A query result as shown by a magic: the first `limit` rows, "showing N of M rows" when
    cut, and the elapsed time when the query took long. `.data` is the whole result in the
    requested format (`to_pandas()`, `to_arrow()`, `to_polars()` convert)."""

    def __init__(self, table: pa.Table, *, limit: int, elapsed: float, show_elapsed_after: float,
                 fmt: str = "pandas", database: str = "", query: str = ""):
        self.table = table
        self.limit = max(0, int(limit))
        self.elapsed = elapsed
        self.show_elapsed_after = show_elapsed_after
        self.format = fmt
        self.database = database
        self.query = query
        self._data: Any = None

    def __len__(self) -> int:
        return self.table.num_rows

    @property
    def data(self) -> Any:
        if self._data is None:
            self._data = convert_table(self.table, self.format)
        return self._data

    def to_pandas(self):
        return self.table.to_pandas()

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_polars(self):
        return convert_table(self.table, "polars")

    def _footer(self) -> str:
        rows = self.table.num_rows
        parts = []
        if rows > self.limit:
            parts.append(f"showing {self.limit} of {rows} rows")
        elif rows == 0:
            parts.append("no rows")
        else:
            parts.append(f"{rows} row{'s' if rows != 1 else ''}")
        if self.elapsed >= self.show_elapsed_after:
            parts.append(f"elapsed {format_seconds(self.elapsed)}")
        return ", ".join(parts)

    def _head(self):
        return self.table.slice(0, self.limit).to_pandas()

    def _repr_html_(self) -> str:
        head = self._head()
        if self.table.num_columns == 0:
            body = ""
        else:
            body = head.to_html(index=False, max_rows=None, max_cols=None, border=0, classes="influx3-result")
        return f'{body}<p style="font-size:smaller;opacity:0.8">{html.escape(self._footer())}</p>'

    def __repr__(self) -> str:
        head = self._head()
        text = head.to_string(index=False, max_rows=None, max_cols=None) if self.table.num_columns else ""
        return f"{text}\n({self._footer()})" if text else f"({self._footer()})"


def write_report_text(report: WriteReport) -> str:
    lines = [str(report)]
    for r in report.rejected:
        lines.append(f"  line {r.line_number}: {r.error_message}: {r.original_line}")
        if r.detail:
            lines.append(f"    {r.detail}")
    return "\n".join(lines)


def write_report_html(report: WriteReport) -> str:
    out = [f"<p>{html.escape(str(report))}</p>"]
    if report.rejected:
        out.append('<table class="influx3-rejected"><thead><tr><th>line</th><th>error</th>'
                   '<th>original line</th></tr></thead><tbody>')
        for r in report.rejected:
            detail = f"<br><small>{html.escape(r.detail)}</small>" if r.detail else ""
            out.append(f"<tr><td>{r.line_number}</td><td>{html.escape(r.error_message)}{detail}</td>"
                       f"<td><code>{html.escape(r.original_line)}</code></td></tr>")
        out.append("</tbody></table>")
    return "".join(out)


class Listing:
    """A titled list (databases, tables) shown as text or a small HTML list."""

    def __init__(self, title: str, items: list[str], empty: str = "none"):
        self.title, self.items, self.empty = title, items, empty

    def __repr__(self) -> str:
        if not self.items:
            return f"{self.title}: {self.empty}"
        return f"{self.title}:\n" + "\n".join(f"  {i}" for i in self.items)

    def _repr_html_(self) -> str:
        if not self.items:
            return f"<p>{html.escape(self.title)}: {html.escape(self.empty)}</p>"
        items = "".join(f"<li><code>{html.escape(i)}</code></li>" for i in self.items)
        return f"<p>{html.escape(self.title)}:</p><ul>{items}</ul>"

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


class Message:
    """A one-line note (text and HTML alike)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.text)}</p>"


def status_text(rows: list[tuple[str, Optional[str]]]) -> str:
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v if v is not None else '-'}" for k, v in rows)
