"""Arrow Flight and Flight SQL over the engine (`pyarrow.flight`).

``server.FlightServer`` serves InfluxDB 3's Flight API (DoGet with JSON / ``ReadInfo`` tickets)
and Flight SQL for one engine; ``portshare`` lets ``influx3 serve`` answer HTTP/1.1 and gRPC on
one port. Never imports the HTTP layer or IPython.
"""
