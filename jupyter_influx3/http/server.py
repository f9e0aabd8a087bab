"""Server information endpoints: ``/ping``, ``/health``, ``/api/v1/health`` (behaviour reference §9)."""

from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from .. import __version__
from . import serialize, watchdog
from .base import ApiHandler, new_request_id

PRODUCT_NAME = "jupyter-influx3"
#: We serve the InfluxDB 3 Enterprise API, so clients that branch on the build see "Enterprise".
BUILD = "Enterprise"


@lru_cache(maxsize=1)
def revision() -> str:
    """Short git hash of the source tree this package runs from, or "" outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=10", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


class PingHandler(ApiHandler):
    """``GET|POST /ping``: version information (HEAD answers 404, as the real server does)."""

    required = ("any",)  # any valid token (clients ping before they write)

    def get(self) -> None:
        request_id = str(new_request_id())
        self.set_header("X-Influxdb-Build", BUILD)
        self.set_header("X-Influxdb-Version", __version__)
        self.set_header("Request-Id", request_id)
        self.set_header("X-Request-Id", request_id)
        body = {
            "version": __version__,
            "revision": revision(),
            "process_id": self.context.process_id,
            "product_name": PRODUCT_NAME,
        }
        self.send_body(serialize.to_json(body), serialize.JSON_CONTENT_TYPE)

    post = get


class HealthHandler(ApiHandler):
    """``GET /health`` and ``GET /api/v1/health``: ``OK``; 503 with what is wrong when the node is
    stuck (a blocked IOLoop, a write pool that takes no work: `http/watchdog.py`)."""

    required = ("any",)

    async def get(self) -> None:
        found = await watchdog.problems(self.context)
        if found:
            self.send_body("unhealthy: " + "; ".join(found), serialize.TEXT_CONTENT_TYPE, status=503)
            return
        self.send_body("OK", serialize.TEXT_CONTENT_TYPE)
