"""What runs around the logic: the worker's Faust app and its Kafka client settings, readiness, output retries,
the broker watchdog (`workers/app.py` wires agents to these; stage logic lives in `pipeline.stages`), and the
feed poller's run loop (`feed_poller.py`; the per-feed poll lives in `pipeline.feeds`)."""
