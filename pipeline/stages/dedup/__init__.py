"""Deduplication: the exact and near-duplicate index and its compact snapshot."""
