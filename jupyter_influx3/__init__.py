"""jupyter-influx3: a time-series database that speaks the InfluxDB 3 HTTP API and lives inside Jupyter.

    import jupyter_influx3
    db = jupyter_influx3.connect()            # the engine in this process (see jupyter/client.py)
    %load_ext jupyter_influx3                 # %%sql, %%lp, %influx3 (see jupyter/magics.py)

The Jupyter server extension (jupyter/serverext.py) is found through
`_jupyter_server_extension_points` and enabled by the config file the package installs.
Everything Jupyter-related is imported lazily, so the engine and the CLI never load IPython.
"""

__version__ = "0.1.0"


def connect(url=None, token=None, **kwargs):
    """A client over the engine in this process (default data directory, or `data_dir=`) or over
    an InfluxDB 3-compatible server (`url=`, `token=`). See `jupyter_influx3.jupyter.client`."""
    from .jupyter.client import connect as _connect

    return _connect(url, token, **kwargs)


_loaded_magics = {}


def load_ipython_extension(ipython):
    """``%load_ext jupyter_influx3``: the magics, settings and tab completion."""
    from .jupyter.magics import load

    _loaded_magics[id(ipython)] = load(ipython)


def unload_ipython_extension(ipython):
    from .jupyter.magics import unload

    magics = _loaded_magics.pop(id(ipython), None)
    if magics is not None:
        unload(ipython, magics)


def _jupyter_labextension_paths():
    """The side panel (labextension/, built into jupyter_influx3/labextension by `pip install`), for
    `jupyter labextension develop --overwrite .` after an editable install."""
    return [{"src": "labextension", "dest": "jupyter-influx3"}]


def _jupyter_server_extension_points():
    from .jupyter.serverext import Influx3App

    return [{"module": "jupyter_influx3", "app": Influx3App}]
