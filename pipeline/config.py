"""Settings, read once from the environment (every variable is listed in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from pipeline.security_settings import ClientSecurity, client_security

ALL_STAGES = ("language", "dedup", "entities", "stories", "sink")


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _stages(raw: str) -> tuple[str, ...]:
    stages = tuple(s.strip() for s in raw.split(",") if s.strip())
    if stages == ("all",):
        return ALL_STAGES
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        raise ValueError(f"NEWSFEED_STAGES: unknown stage(s) {sorted(unknown)}; known: {ALL_STAGES}")
    return stages


@dataclass(frozen=True)
class Settings:
    # Empty broker means "start the embedded Tansu broker".
    broker: str = field(default_factory=lambda: _env("NEWSFEED_BROKER", ""))
    topic_prefix: str = field(default_factory=lambda: _env("NEWSFEED_TOPIC_PREFIX", "newsfeed."))
    partitions: int = field(default_factory=lambda: int(_env("NEWSFEED_PARTITIONS", "2")))
    replication: int = field(default_factory=lambda: int(_env("NEWSFEED_REPLICATION", "1")))
    app_id: str = field(default_factory=lambda: _env("NEWSFEED_APP_ID", "newsfeed"))
    output_dir: Path = field(default_factory=lambda: Path(_env("NEWSFEED_OUTPUT_DIR", "out")))
    stages: tuple[str, ...] = field(default_factory=lambda: _stages(_env("NEWSFEED_STAGES", "all")))
    # Tansu makes every group join wait session_timeout/2, so keep it short.
    session_timeout: float = field(default_factory=lambda: float(_env("NEWSFEED_SESSION_TIMEOUT", "6")))
    # 0: the engine's own choice (250 ms on Tansu, 500 on Kafka: pipeline/runtime/faust_app.py)
    fetch_wait_ms: int = field(default_factory=lambda: int(_env("NEWSFEED_FETCH_WAIT_MS", "0")))
    max_message_bytes: int = field(default_factory=lambda: int(_env("NEWSFEED_MAX_MESSAGE_BYTES", str(2 * 1024 * 1024))))
    lang_min_confidence: float = field(default_factory=lambda: float(_env("NEWSFEED_LANG_MIN_CONFIDENCE", "0.35")))
    lang_sample_chars: int = field(default_factory=lambda: int(_env("NEWSFEED_LANG_SAMPLE_CHARS", "3000")))
    lang_fast_path: bool = field(default_factory=lambda: _env("NEWSFEED_LANG_FAST_PATH", "1") not in ("0", "false", "no"))
    # lingua's mode: "low" (trigrams, ~100 MB) or "high" (~1.1 GB, ~7 s holding the GIL); and the weight of
    # fastText's vote added to lingua's values (0: lingua alone). bench/language.py compares them.
    lang_accuracy: str = field(default_factory=lambda: _env("NEWSFEED_LANG_ACCURACY", "low"))
    lang_vote: float = field(default_factory=lambda: float(_env("NEWSFEED_LANG_VOTE", "1")))
    dedup_threshold: float = field(default_factory=lambda: float(_env("NEWSFEED_DEDUP_THRESHOLD", "0.5")))
    dedup_shingle: int = field(default_factory=lambda: int(_env("NEWSFEED_DEDUP_SHINGLE", "5")))
    dedup_retention_days: float = field(default_factory=lambda: float(_env("NEWSFEED_DEDUP_RETENTION_DAYS", "7")))
    dedup_grace_seconds: float = field(default_factory=lambda: float(_env("NEWSFEED_DEDUP_GRACE_SECONDS", "3600")))
    # a snapshot of a partition's dedup index is cut after this many new entries (0: never), so a rebuild
    # reads a snapshot plus at most about this many entries (pipeline/kafka/state.py)
    dedup_snapshot_entries: int = field(default_factory=lambda: int(_env("NEWSFEED_DEDUP_SNAPSHOT_ENTRIES", "20000")))
    # how far back the enriched topic is read on assignment (re-delivered records within it are not written twice)
    readback_hours: float = field(default_factory=lambda: float(_env("NEWSFEED_READBACK_HOURS", "48")))
    # 0: no story features or assignment (the story stage only writes the outputs; records carry no `story`)
    stories: bool = field(default_factory=lambda: _env("NEWSFEED_STORIES", "1") not in ("0", "false", "no", "off"))
    # a story takes no more articles once none joined for this long (article time: published, else ingested)
    story_idle_hours: float = field(default_factory=lambda: float(_env("NEWSFEED_STORY_IDLE_HOURS", "48")))
    # empty: every language with an installed model gets the best one (pipeline/stages/entities/models.py)
    ner_models: str = field(default_factory=lambda: _env("NEWSFEED_NER_MODELS", ""))
    # which languages this worker's NER serves: empty = all; `ru,ja` = only these; `-ru,-ja` (or `not:ru,ja`)
    # = all but these.
    # Workers with different sets run in different consumer groups, each reading every unique article and
    # tagging its own languages (README, Entities: splitting languages across workers)
    ner_languages: str = field(default_factory=lambda: _env("NEWSFEED_NER_LANGUAGES", ""))
    # languages whose models load at start (`all`: every one); any other loads with its first article
    ner_preload: str = field(default_factory=lambda: _env("NEWSFEED_NER_PRELOAD", "en,fr"))
    ner_batch_size: int = field(default_factory=lambda: int(_env("NEWSFEED_NER_BATCH_SIZE", "8")))
    ner_processes: int = field(default_factory=lambda: int(_env("NEWSFEED_NER_PROCESSES", "1")))
    ner_cpus: tuple[int, ...] = field(default_factory=lambda: tuple(
        int(c) for c in _env("NEWSFEED_NER_CPUS", "").split(",") if c.strip()))
    # The worker loop steps this many nice levels below its NER children once they are started, so under
    # CPU contention the bottleneck stage (NER) wins and the light stages (~1 ms an article) wait.
    loop_nice: int = field(default_factory=lambda: int(_env("NEWSFEED_LOOP_NICE", "5")))
    ner_batch_wait: float = field(default_factory=lambda: float(_env("NEWSFEED_NER_BATCH_WAIT", "0.25")))
    validate_output: bool = field(default_factory=lambda: _env("NEWSFEED_VALIDATE_OUTPUT", "0") in ("1", "true", "yes"))
    broker_wait: float = field(default_factory=lambda: float(_env("NEWSFEED_BROKER_WAIT", "60")))
    # how long a failing output (disk full, unwritable directory, topic) is retried before the worker exits
    output_wait: float = field(default_factory=lambda: float(_env("NEWSFEED_OUTPUT_WAIT", "120")))
    # JSONL rotation (pipeline/writers/rotation.py): size and age of the current file, closed files kept (0: all),
    # gzip of closed files; idempotence looks back over the current file plus the last ROTATE_MB closed
    output_rotate_mb: float = field(default_factory=lambda: float(_env("NEWSFEED_OUTPUT_ROTATE_MB", "64")))
    output_rotate_minutes: float = field(default_factory=lambda: float(_env("NEWSFEED_OUTPUT_ROTATE_MINUTES", "0")))
    output_keep: int = field(default_factory=lambda: int(_env("NEWSFEED_OUTPUT_KEEP", "0")))
    output_gzip: bool = field(default_factory=lambda: _env("NEWSFEED_OUTPUT_GZIP", "0") in ("1", "true", "yes"))
    # the worker's /health, /ready and /metrics; 0 turns the server and the metrics off
    http_port: int = field(default_factory=lambda: int(_env("NEWSFEED_HTTP_PORT", "6066")))
    http_host: str = field(default_factory=lambda: _env("NEWSFEED_HTTP_HOST", "127.0.0.1"))
    # Kafka client security (pipeline/security_settings.py validates them into a ClientSecurity)
    security_protocol: str = field(default_factory=lambda: _env("NEWSFEED_SECURITY_PROTOCOL", "PLAINTEXT"))
    sasl_mechanism: str = field(default_factory=lambda: _env("NEWSFEED_SASL_MECHANISM", ""))
    sasl_username: str = field(default_factory=lambda: _env("NEWSFEED_SASL_USERNAME", ""))
    # repr=False: a Settings printed in a log or a traceback never shows the password
    sasl_password: str = field(default_factory=lambda: _env("NEWSFEED_SASL_PASSWORD", ""), repr=False)
    sasl_password_file: str = field(default_factory=lambda: _env("NEWSFEED_SASL_PASSWORD_FILE", ""))
    ssl_cafile: str = field(default_factory=lambda: _env("NEWSFEED_SSL_CAFILE", ""))
    ssl_certfile: str = field(default_factory=lambda: _env("NEWSFEED_SSL_CERTFILE", ""))
    ssl_keyfile: str = field(default_factory=lambda: _env("NEWSFEED_SSL_KEYFILE", ""))

    def __post_init__(self) -> None:
        # validated once, at load: bad security settings are a configuration error (exit 2)
        object.__setattr__(self, "_security", client_security(self))

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}{name}"

    def ner_model_overrides(self) -> dict[str, str]:
        """'fr=fr_core_news_md,de=none' -> {'fr': 'fr_core_news_md', 'de': 'none'}."""
        pairs = (item.split("=", 1) for item in self.ner_models.split(",") if "=" in item)
        return {lang.strip(): model.strip() for lang, model in pairs}

    def ner_model_map(self) -> dict[str, str]:
        """language -> spaCy package: the installed models by preference, NEWSFEED_NER_MODELS on top."""
        from pipeline.stages.entities import models as ner_models

        return ner_models.resolve(self.ner_model_overrides())

    def ner_serves(self, lang: str) -> bool:
        """Does this worker tag records whose NER language is `lang` (NEWSFEED_NER_LANGUAGES)?"""
        include, exclude = ner_language_sets(self.ner_languages)
        return lang not in exclude and (not include or lang in include)

    def ner_preload_languages(self) -> tuple[str, ...] | None:
        """NEWSFEED_NER_PRELOAD as a tuple, None for `all` (EntityTagger.preload)."""
        raw = self.ner_preload.strip().lower()
        return None if raw == "all" else tuple(x.strip() for x in raw.split(",") if x.strip())

    @property
    def security(self) -> ClientSecurity:
        """The validated Kafka client security (pipeline/security_settings.py)."""
        return self._security

    def kafka_python_security(self) -> dict:
        """Security options for kafka-python clients (empty on a plaintext broker)."""
        return self._security.kafka_python()


def ner_language_sets(raw: str) -> tuple[frozenset[str], frozenset[str]]:
    """NEWSFEED_NER_LANGUAGES -> (languages served only, languages not served). `not:ru,ja` = `-ru,-ja`."""
    raw = raw.strip()
    if raw.lower().startswith("not:"):
        raw = ",".join(f"-{x.strip()}" for x in raw[4:].split(",") if x.strip())
    items = [x.strip().lower() for x in raw.split(",") if x.strip()]
    include = frozenset(x for x in items if not x.startswith("-"))
    exclude = frozenset(x[1:] for x in items if x.startswith("-"))
    if include and exclude:
        raise ValueError(f"NEWSFEED_NER_LANGUAGES={raw!r}: either languages (ru,ja) or exclusions (-ru,-ja)")
    return include, exclude


NER_GROUP = "-ner-"


def ner_group_suffix(settings: Settings) -> str:
    """`-ner-ja.ru` (only these) or `-ner-not.ja.ru` (all but these); empty when every language is served."""
    include, exclude = ner_language_sets(settings.ner_languages)
    if not include and not exclude:
        return ""
    return NER_GROUP + ".".join(["not", *sorted(exclude)] if exclude else sorted(include))


def group_id(settings: Settings) -> str:
    """The consumer group of a worker: workers running different stage sets must not share one, because Faust
    assumes identical members. `NEWSFEED_APP_ID` alone for all stages, else suffixed by the stage list; a
    worker serving only some languages' NER (NEWSFEED_NER_LANGUAGES) is in a group of its own language set."""
    suffix = ner_group_suffix(settings) if "entities" in settings.stages else ""
    if settings.stages == ALL_STAGES:
        return settings.app_id + suffix
    return f"{settings.app_id}-{'-'.join(settings.stages)}{suffix}"


def stages_of_group(app_id: str, name: str) -> tuple[str, ...] | None:
    """The inverse of `group_id`: the stages a worker group runs, or None for any other group (a `tail`)."""
    name = name.split(NER_GROUP)[0]
    if name == app_id:
        return ALL_STAGES
    stages = tuple(name[len(app_id) + 1:].split("-")) if name.startswith(f"{app_id}-") else ()
    return stages if stages and all(s in ALL_STAGES for s in stages) else None


ENV_VARS = {f.name: f"NEWSFEED_{f.name.upper()}" for f in fields(Settings)}


def load() -> Settings:
    return Settings()
