"""Pure stage logic: text cleaning, language, deduplication, entities. Nothing here imports Kafka or Faust."""
