"""tests/http/test_users_api.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_users_api
from workers_suites import rerun

globals().update(rerun(test_users_api))
