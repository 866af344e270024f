"""Tooling around the pipeline: worker processes, the synthetic load, the benchmark."""
