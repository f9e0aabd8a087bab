"""The database engine: line protocol, catalog, WAL, buffer, Parquet, queries.

Knows nothing of HTTP or Jupyter: never import tornado, IPython, ipywidgets or jupyter_server here.
"""
