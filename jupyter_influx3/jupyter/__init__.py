"""The notebook side: the Python client (`client.py`), magics, the widgets explorer and the Jupyter
server extension. Imports `engine/` and `http/`; nothing under `engine/` or `http/` imports this.

Heavy imports (IPython, ipywidgets, plotly, jupyter_server) happen only in the modules that need
them, so `import jupyter_influx3` stays cheap in a plain Python process.
"""
