"""The InfluxDB 1.6.7 examples (``tests/data/influxql_v1_examples.json``, answered by 1.6.7 over
``influxql_v1_examples_dataset.lp.gz``): each case's statement and the /query parameters it was
sent with. Shared by the conformance test and the reference-cycle test."""

from __future__ import annotations

import json
import re
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
#: the parameters every example is sent with; a case's ``[k=v,...]`` prefix changes them
DEFAULT_PARAMS = {"db": "diff", "epoch": "s"}


def cases() -> list[dict]:
    return json.loads((DATA / "influxql_v1_examples.json").read_text())["cases"]


def statement_and_params(line: str) -> tuple[str, dict]:
    """A case's line without its ``[k=v,...]`` prefix, and the parameters it makes (an empty
    value drops the key)."""
    params = dict(DEFAULT_PARAMS)
    m = re.match(r"\[([^\]]*)\]\s*(.*)", line)
    if m:
        for kv in m.group(1).split(","):
            k, _, v = kv.partition("=")
            if v == "":
                params.pop(k, None)
            else:
                params[k] = v
        line = m.group(2)
    return line, params
