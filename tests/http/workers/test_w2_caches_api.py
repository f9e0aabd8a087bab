"""tests/http/test_caches_api.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_caches_api
from workers_suites import rerun

globals().update(rerun(test_caches_api, skip={
    "test_cli_create_and_delete_caches": "the command line's wording; its API calls are tested here",
}))
