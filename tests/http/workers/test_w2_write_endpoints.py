"""tests/http/test_write_endpoints.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_write_endpoints
from workers_suites import rerun

globals().update(rerun(test_write_endpoints))
