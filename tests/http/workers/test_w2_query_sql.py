"""tests/http/test_query_sql.py against `influx3 serve --workers 2` (see conftest.py)."""

import test_query_sql
from workers_suites import rerun

globals().update(rerun(test_query_sql))
