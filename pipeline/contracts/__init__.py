"""Contracts other services and stages rely on: the codec, record builders, JSON Schema validation, dead letters."""
