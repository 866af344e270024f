"""Kafka transport: the embedded broker, topics, partition reads, outcome collection, the replay producer."""
