"""DataFrames -> line protocol, for `Client.write(df, ...)` and `%influx3 write-df`.

One row becomes one line: the tag columns (and constant tags) as tags, every other column as a
field, and the time from a time column or a DatetimeIndex. A missing value (None, NaN, NaT, <NA>)
leaves that tag or field out of the line; a row with no field left is skipped (line protocol needs
at least one field). Field types follow the column's dtype: floats, signed integers (``i``),
unsigned integers (``u``), booleans and strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..engine.lineprotocol import counted_lines, escape_key, escape_measurement, escape_string_field


class DataFrameError(ValueError):
    """A DataFrame that cannot be written as asked (message says what to change)."""


@dataclass
class Converted:
    lines: list[str]
    skipped_rows: int  # rows without any field value
    precision: str


def _missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float) and math.isnan(v):
        return True
    try:
        return bool(pd.isna(v)) if np.isscalar(v) else False
    except (TypeError, ValueError):
        return False


def _field_text(v: Any, column: str) -> Optional[str]:
    """One field value in line protocol, None when missing or not writable (inf)."""
    if _missing(v):
        return None
    if isinstance(v, (bool, np.bool_)):
        return "true" if v else "false"
    if isinstance(v, (np.unsignedinteger,)):
        return f"{int(v)}u"
    if isinstance(v, (int, np.integer)):
        return f"{int(v)}i"
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isinf(f):
            return None
        return repr(f)
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return '"' + pd.Timestamp(v).isoformat() + '"'
    if isinstance(v, bytes):
        v = v.decode("utf-8")
    text = str(v)
    if "\n" in text:
        raise DataFrameError(f"column {column!r}: line protocol cannot carry a newline in a string value")
    return '"' + escape_string_field(text) + '"'


def _column_formatter(series: pd.Series, column: str):
    """A function value -> field text chosen once from the column's dtype (per value for objects)."""
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return lambda v: None if _missing(v) else ("true" if v else "false")
    if pd.api.types.is_unsigned_integer_dtype(dtype):
        return lambda v: None if _missing(v) else f"{int(v)}u"
    if pd.api.types.is_integer_dtype(dtype):
        return lambda v: None if _missing(v) else f"{int(v)}i"
    if pd.api.types.is_float_dtype(dtype):
        def fmt_float(v):
            if _missing(v):
                return None
            f = float(v)
            return None if math.isinf(f) else repr(f)
        return fmt_float
    return lambda v: _field_text(v, column)


def _tag_text(v: Any, column: str) -> Optional[str]:
    if _missing(v):
        return None
    text = v.decode("utf-8") if isinstance(v, bytes) else str(v)
    if text == "":
        return None  # line protocol has no empty tag values: the tag is left out
    if "\n" in text:
        raise DataFrameError(f"tag column {column!r}: line protocol cannot carry a newline in a tag value")
    return escape_key(text)


def _time_values(df: pd.DataFrame, time_column: Optional[str], precision: Optional[str]):
    """(int64 array or None, precision to send, name of the time column to leave out of the fields)."""
    col = None
    if time_column is not None:
        if time_column not in df.columns:
            raise DataFrameError(f"no column {time_column!r} for the time (columns: {', '.join(map(str, df.columns))})")
        col = df[time_column]
    elif "time" in df.columns:
        time_column, col = "time", df["time"]
    elif isinstance(df.index, pd.DatetimeIndex):
        col = pd.Series(df.index, index=df.index)
    if col is None:
        raise DataFrameError("the DataFrame needs a 'time' column or a DatetimeIndex (or pass time_column=)")
    if pd.api.types.is_datetime64_any_dtype(col.dtype):
        values = col
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        if values.isna().any():
            raise DataFrameError("the time column has missing values")
        ns = values.astype("datetime64[ns]").to_numpy().astype("int64")
        return ns, "nanosecond", time_column
    if pd.api.types.is_integer_dtype(col.dtype):
        if col.isna().any():
            raise DataFrameError("the time column has missing values")
        return col.to_numpy().astype("int64"), precision or "auto", time_column
    if col.dtype == object:
        try:
            parsed = pd.to_datetime(col, utc=True)
        except (ValueError, TypeError) as exc:
            raise DataFrameError(f"cannot read the time column as times: {exc}") from None
        return parsed.dt.tz_localize(None).astype("datetime64[ns]").to_numpy().astype("int64"), "nanosecond", time_column
    raise DataFrameError(f"the time column has dtype {col.dtype}; expected datetimes or integers")


def dataframe_to_lines(
    df: Any,
    table: str,
    *,
    tags: Optional[Sequence[str] | Mapping[str, Any] | str] = None,
    fields: Optional[Sequence[str]] = None,
    time_column: Optional[str] = None,
    precision: Optional[str] = None,
) -> Converted:
    """Line protocol for every row of `df` (pandas, polars or a pyarrow Table) into `table`.

    `tags` names the tag columns (a list, or "a,b"); a mapping gives constant tags for every row.
    `fields` limits the field columns (default: every other column).
    """
    df = to_pandas(df)
    if not table:
        raise DataFrameError("name the table to write to (table=...)")
    tag_columns: list[str] = []
    const_tags: dict[str, Any] = {}
    if isinstance(tags, str):
        tag_columns = [t.strip() for t in tags.split(",") if t.strip()]
    elif isinstance(tags, Mapping):
        const_tags = dict(tags)
    elif tags is not None:
        tag_columns = list(tags)
    for t in tag_columns:
        if t not in df.columns:
            raise DataFrameError(f"no tag column {t!r} (columns: {', '.join(map(str, df.columns))})")
    times, precision_out, time_col = _time_values(df, time_column, precision)
    skip = set(tag_columns) | ({time_col} if time_col else set())
    if fields is None:
        field_columns = [c for c in df.columns if c not in skip]
    else:
        field_columns = list(fields)
        for f in field_columns:
            if f not in df.columns:
                raise DataFrameError(f"no field column {f!r}")
    if not field_columns:
        raise DataFrameError("no field columns left (every row needs at least one field)")

    prefix = escape_measurement(str(table))
    const = "".join(f",{escape_key(str(k))}={_tag_text(v, str(k))}" for k, v in const_tags.items()
                    if _tag_text(v, str(k)) is not None)
    tag_parts = []
    for c in tag_columns:
        key = escape_key(str(c))
        tag_parts.append([None if (t := _tag_text(v, str(c))) is None else f",{key}={t}" for v in df[c].tolist()])
    field_parts = []
    for c in field_columns:
        key = escape_key(str(c))
        fmt = _column_formatter(df[c], str(c))
        field_parts.append([None if (t := fmt(v)) is None else f"{key}={t}" for v in df[c].tolist()])

    lines: list[str] = []
    skipped = 0
    n = len(df)
    for i in range(n):
        fs = [p[i] for p in field_parts if p[i] is not None]
        if not fs:
            skipped += 1
            continue
        ts = "".join(p[i] for p in tag_parts if p[i] is not None)
        lines.append(f"{prefix}{const}{ts} {','.join(fs)} {int(times[i])}")
    return Converted(lines, skipped, precision_out)


def to_pandas(data: Any) -> pd.DataFrame:
    """pandas DataFrame from pandas, polars or pyarrow tabular data."""
    if isinstance(data, pd.DataFrame):
        return data
    to_pd = getattr(data, "to_pandas", None)
    if callable(to_pd):
        return to_pd()
    raise DataFrameError(f"cannot write a {type(data).__name__}: expected line protocol text or a DataFrame")


def is_tabular(data: Any) -> bool:
    if isinstance(data, pd.DataFrame):
        return True
    mod = type(data).__module__ or ""
    return (mod.startswith("polars") or mod.startswith("pyarrow")) and callable(getattr(data, "to_pandas", None))




def count_lines(body: str | bytes) -> int:
    return len(counted_lines(body))


def join_lines(lines: Iterable[str]) -> str:
    return "\n".join(lines)
