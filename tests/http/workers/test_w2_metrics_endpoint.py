"""tests/http/test_metrics_endpoint.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_metrics_endpoint
from workers_suites import rerun

globals().update(rerun(test_metrics_endpoint))
