"""newsfeed: a streaming enrichment pipeline for news articles.

`pipeline` is the library: records, codec, config, pure stage logic, the replay
producer, the embedded broker and the CLI. Nothing here imports Faust except the
CLI's `worker` command, which hands over to `workers.app`.
"""

__version__ = "0.1.0"
