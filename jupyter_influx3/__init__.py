"""jupyter-influx3: a time-series database that speaks the InfluxDB 3 HTTP API and lives inside Jupyter."""

__version__ = "0.1.0"
