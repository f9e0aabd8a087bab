"""`%influx3 explore`'s widgets on a real engine: what it draws, and what a saved notebook keeps of it."""

from __future__ import annotations

import json

import pytest
from jupyter_helpers import ok

pytest.importorskip("plotly")

from ipywidgets.embed import dependency_state  # noqa: E402

from jupyter_influx3.jupyter.widgets import PLOTLY_MIME, Explorer  # noqa: E402

LP = "\n".join(f"cpu,host=h{i % 2} usage={i / 10},n={i}i {1700000000 + 60 * i}" for i in range(200))


def test_explorer_draws_one_line_per_field_and_split_value(ip):
    ok(ip, "%%lp -d ex --precision s\n" + LP)
    explorer = ok(ip, "%influx3 explore -d ex --table cpu")
    assert isinstance(explorer, Explorer)
    [output] = explorer.chart.outputs
    figure = output["data"][PLOTLY_MIME]
    assert [t["name"] for t in figure["data"]] == ["usage"]
    explorer.split_by.value = "host"
    explorer.aggregate.value = "max"
    explorer.refresh()
    figure = explorer.chart.outputs[0]["data"][PLOTLY_MIME]
    assert [t["name"] for t in figure["data"]] == ["usage host=h0", "usage host=h1"]
    assert max(max(t["y"]) for t in figure["data"]) == pytest.approx(19.9)


def test_saved_widget_state_is_small(ip):
    """A saved notebook keeps the state of every widget shown; plotly's FigureWidget put the whole
    plotly.js bundle (~5 MB) in it."""
    ok(ip, "%%lp -d ex --precision s\n" + LP)
    explorer = ok(ip, "%influx3 explore -d ex --table cpu")
    state = dependency_state(explorer.widget)
    size = len(json.dumps(state, default=str))
    assert len(state) > 10  # the explorer's own widgets are all there
    assert size < 200_000, f"{size} bytes of widget state"
