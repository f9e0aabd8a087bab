"""`LineBuilder`: the line-protocol builder plugins find in their globals and in `builtins`
(behaviour reference §6.5, plugins reference §0.4 and §A.3 item 8).

Owns the builder, its exception classes and their installation into `builtins`. Values are kept
already formatted in the public OrderedDicts `.tags` and `.fields` (the downsampler reads them), and
the timestamp in `._timestamp_ns`. Pure Python; knows nothing of the engine.
"""

from __future__ import annotations

import builtins
from collections import OrderedDict


class InfluxDBError(Exception):
    """Base of the builder's errors."""


class InvalidMeasurementError(InfluxDBError):
    pass


class InvalidKeyError(InfluxDBError):
    pass


class InvalidLineError(InfluxDBError):
    pass


def _escape(text: str, chars: str) -> str:
    if "\\" in chars:
        text = text.replace("\\", "\\\\")
    for ch in chars.replace("\\", ""):
        text = text.replace(ch, "\\" + ch)
    return text


def _check_key(key) -> str:
    if not isinstance(key, str) or not key:
        raise InvalidKeyError("Key cannot be empty")
    for ch in (" ", ",", "="):
        if ch in key:
            raise InvalidKeyError(f"Key '{key}' cannot contain spaces, commas, or equals signs")
    return key


class LineBuilder:
    """One line of line protocol: `LineBuilder("cpu").tag("host", "a").float64_field("u", 1).build()`."""

    def __init__(self, measurement: str):
        if not isinstance(measurement, str) or not measurement:
            raise InvalidMeasurementError("Measurement name cannot be empty")
        if " " in measurement:
            raise InvalidMeasurementError("Measurement name cannot contain spaces")
        self.measurement = measurement
        self.tags: OrderedDict[str, str] = OrderedDict()
        self.fields: OrderedDict[str, str] = OrderedDict()
        self._timestamp_ns = None

    def tag(self, key: str, value) -> "LineBuilder":
        self.tags[_check_key(key)] = str(value)
        return self

    def int64_field(self, key: str, value: int) -> "LineBuilder":
        v = int(value)
        if not -(2**63) <= v < 2**63:
            raise ValueError(f"int64 field '{key}' out of range: {value}")
        self.fields[_check_key(key)] = f"{v}i"
        return self

    def uint64_field(self, key: str, value: int) -> "LineBuilder":
        v = int(value)
        if v < 0:
            raise ValueError(f"uint64 field '{key}' cannot be negative: {value}")
        if v >= 2**64:
            raise ValueError(f"uint64 field '{key}' out of range: {value}")
        self.fields[_check_key(key)] = f"{v}u"
        return self

    def float64_field(self, key: str, value: float) -> "LineBuilder":
        # an integral value keeps a ".0" so the column stays a float (an int 7 renders 7.0 too)
        text = f"{int(value)}.0" if value == value and abs(value) != float("inf") and value % 1 == 0 \
            else str(float(value))
        self.fields[_check_key(key)] = text
        return self

    def string_field(self, key: str, value: str) -> "LineBuilder":
        self.fields[_check_key(key)] = '"' + _escape(str(value), '\\"') + '"'
        return self

    def bool_field(self, key: str, value: bool) -> "LineBuilder":
        self.fields[_check_key(key)] = "t" if value else "f"
        return self

    def time_ns(self, timestamp_ns: int) -> "LineBuilder":
        self._timestamp_ns = int(timestamp_ns)
        return self

    def build(self) -> str:
        line = _escape(self.measurement, ", ")
        for k, v in self.tags.items():
            line += f",{_escape(k, chr(92) + ',= ')}={_escape(v, chr(92) + ',= ')}"
        if not self.fields:
            raise InvalidLineError(f"At least one field is required: {line}")
        line += " " + ",".join(f"{_escape(k, chr(92) + ',= ')}={v}" for k, v in self.fields.items())
        if self._timestamp_ns is not None:
            line += f" {self._timestamp_ns}"
        return line

    def __repr__(self) -> str:
        try:
            return f"LineBuilder({self.build()!r})"
        except InfluxDBError:
            return f"LineBuilder({self.measurement!r}, no fields)"


EXPORTS = {
    "LineBuilder": LineBuilder,
    "InfluxDBError": InfluxDBError,
    "InvalidMeasurementError": InvalidMeasurementError,
    "InvalidKeyError": InvalidKeyError,
    "InvalidLineError": InvalidLineError,
}


def install_builtins() -> None:
    """Make `LineBuilder` (and its errors) visible in every module, as the real engine does."""
    for name, value in EXPORTS.items():
        setattr(builtins, name, value)
