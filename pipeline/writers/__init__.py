"""Output writers: the idempotent JSONL sink."""
