"""Live feeds, the pure part: sources, feed parsing, URL identity, politeness, HTTP fetching, extraction
and the per-feed poll. Nothing here imports Kafka or Faust (`pipeline/runtime/feed_poller.py` runs it on a
broker)."""
