"""The worker's runtime around the agents: the Faust app and its Kafka client settings, readiness, output
retries, the broker watchdog. `workers/app.py` wires agents to these; stage logic lives in `pipeline.stages`."""
