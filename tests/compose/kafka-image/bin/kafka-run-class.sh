#!/usr/bin/env bash
# Runs a class from /opt/kafka/libs, as the distribution's script does (KAFKA_HEAP_OPTS, KAFKA_OPTS,
# KAFKA_LOG4J_OPTS honoured); tools get a small heap and quick start-up, logging warnings to stderr.
base="$(cd "$(dirname "$0")/.." && pwd)"
heap="${KAFKA_HEAP_OPTS:--Xmx256m}"
log4j="${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$base/config/tools-log4j2.yaml}"
# shellcheck disable=SC2086  # the *_OPTS variables are word lists
exec java $heap -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true $log4j ${KAFKA_OPTS:-} \
  -cp "$base/libs/*" "$@"
