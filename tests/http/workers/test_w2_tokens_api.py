"""tests/http/test_tokens_api.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_tokens_api
from workers_suites import rerun

globals().update(rerun(test_tokens_api, skip={
    "test_bad_admin_token_file_stops_the_server": "starts no server of the suite's",
    "test_cli_argument_errors": "the command line only",
}))
