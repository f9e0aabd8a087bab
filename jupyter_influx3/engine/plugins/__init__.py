"""The processing engine: Python plugins run on WAL writes, on schedules and on HTTP requests.

    spec.py        trigger specifications (`table:`, `all_tables`, `cron:`, `every:`, `request:`)
    loader.py      plugin files -> code (single files exec'd per call, directories imported)
    runtime.py     `influxdb3_local` and one plugin call (logs, traceback, writes, queries)
    linebuilder.py `LineBuilder`, installed into builtins
    batches.py     WAL record batches -> `table_batches`
    waltail.py     reading every node's WAL from a position kept in the data directory
    manager.py     `ProcessingEngine`: trigger operations, the lease, schedules, requests, dry runs
    response.py    request-trigger return values -> status, headers, body
    files.py, packages.py, cache.py, logs.py, system.py

Reached through `Engine.configure_plugins(plugin_dir, …)`, which `influx3 serve --plugin-dir` and
the server extension call; kernels use it for dry runs (`%%influx3_plugin`) without running triggers.
Imports nothing of tornado or IPython.
"""

from .manager import ProcessingEngine
from .system import register as _register_system_tables

_register_system_tables()

__all__ = ["ProcessingEngine"]
