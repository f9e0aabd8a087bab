"""tests/http/test_plugins_api.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_plugins_api
from workers_suites import rerun

globals().update(rerun(test_plugins_api, skip={
    "test_a_slow_plugin_does_not_hold_up_other_requests": "about one process's IOLoop, not what workers share",
}))
