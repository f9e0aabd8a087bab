"""tests/http/test_system_scoping.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_system_scoping
from workers_suites import rerun

globals().update(rerun(test_system_scoping, skip={
    "test_telemetry_describes_only_readable_queries": "without a query, telemetry describes the last query "
                                                      "of the worker that answers (docs/workers.md)",
    "test_system_queries_shows_only_readable_databases": "asks at once, and a peer's rows are up to 0.25 s old: "
                                                         "test_workers.py asks after waiting",
}))
