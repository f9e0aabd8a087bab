"""Where the official plugins' tests (tests/engine and tests/http) find a checkout of
`influxdata/influxdb3_plugins` (ab59f956), and the skip they share without one: the checkout is not
part of this project."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PLUGINS = os.environ.get("JUPYTER_INFLUX3_PLUGINS_DIR")
needs_checkout = pytest.mark.skipif(
    not PLUGINS or not Path(PLUGINS, "influxdata").is_dir(),
    reason="JUPYTER_INFLUX3_PLUGINS_DIR is not set to a checkout of influxdata/influxdb3_plugins (ab59f956); "
           "the official plugins are not part of this project")
#: 2024-01-01T00:00:00Z, the start of the plugins reference's scenarios
T0 = 1704067200000000000
