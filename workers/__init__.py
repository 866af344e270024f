"""Thin Faust agents: each reads a topic, calls `pipeline` logic, writes the next topic."""
