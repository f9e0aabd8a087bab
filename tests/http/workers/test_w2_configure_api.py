"""tests/http/test_configure_api.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_configure_api
from workers_suites import rerun

globals().update(rerun(test_configure_api))
