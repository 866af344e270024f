"""Entity tagging: the NER model registry, the models that are not spaCy packages, the fallback model for a language without one, and one summary entry per real-world name."""
