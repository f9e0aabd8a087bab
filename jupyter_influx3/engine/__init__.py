"""The database engine: line protocol, catalog, WAL, buffer, Parquet, queries.

Knows nothing of HTTP or Jupyter: never import tornado, IPython, ipywidgets or jupyter_server here.
`Engine` is the one API the magics, the HTTP handlers and the CLI call.
"""

from . import errors
from .catalog import Limits
from .engine import Engine, WriteResult

__all__ = ["Engine", "WriteResult", "Limits", "errors"]
