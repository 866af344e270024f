#!/usr/bin/env bash
# The broker: a small heap by default (the official script's is 1 GB), logs to stdout like the image's.
base="$(cd "$(dirname "$0")/.." && pwd)"
heap="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
log4j="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/log4j2.yaml}"
# shellcheck disable=SC2086
exec java $heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true $log4j ${KAFKA_OPTS:-} \
  -cp "$base/libs/*" kafka.Kafka "$@"
