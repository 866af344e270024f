"""newsfeed on a secured Apache Kafka: SASL_SSL with SCRAM users, the StandardAuthorizer and ACLs, run with
the commands as a user types them (`python -m pipeline.cli worker | replay | tail | topics`), configured by
environment variables only. Each principal gets exactly the ACLs of pipeline/kafka/acls.py (the README's)."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import uuid

import orjson
import pytest

from pipeline.config import Settings
from pipeline.contracts import schemas
from pipeline.kafka import acls
from pipeline.kafka.broker import free_port
from pipeline.kafka.replay import items
from pipeline.tools.processes import start_worker, stop_workers, wait_workers_ready

from certificates import make_certificates
from secured_clients import java_reader, librdkafka_read
from conftest import NO_NER, ROOT, SEEDS
from tools_required import require_tools

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    require_tools("openssl")
    return make_certificates(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def cluster(certs, tmp_path_factory):
    require_tools("java", "mvn")
    from pipeline.kafka.engines.secured_kafka import SecuredKafkaCluster

    kafka = SecuredKafkaCluster(certs.keystore, certs.ca, admin_password=secrets.token_urlsafe(12),
                                data_dir=str(tmp_path_factory.mktemp("kafka")))
    kafka.start()
    yield kafka
    kafka.stop()


class Namespace:
    """One test's topics, group, output directory and principals on the shared secured cluster."""

    def __init__(self, cluster, certs, tmp_path):
        self.cluster, self.certs, self.tmp = cluster, certs, tmp_path
        self.prefix = f"s{uuid.uuid4().hex[:8]}."
        self.settings = Settings(topic_prefix=self.prefix, app_id=f"newsfeed-{self.prefix.rstrip('.')}")
        self.output = tmp_path / "out"
        self.passwords: dict[str, str] = {}

    def user(self, name: str, grants) -> str:
        """A SCRAM user (Admin API) with these ACLs and nothing more; its password goes to a 0600 file."""
        user = f"{name}-{self.prefix.rstrip('.')}"
        self.passwords[user] = secrets.token_urlsafe(16)
        self.cluster.add_user(user, self.passwords[user])
        if grants:
            self.cluster.allow(user, grants)
        return user

    def env(self, user: str, password: str | None = None, cafile=None, **extra) -> dict[str, str]:
        secret = self.tmp / f"{user}-{uuid.uuid4().hex[:6]}.password"   # one file per env: a wrong one too
        secret.write_text((password or self.passwords[user]) + "\n")
        secret.chmod(0o600)
        base = {k: v for k, v in os.environ.items() if not k.startswith("NEWSFEED_")}
        return {**base, "NEWSFEED_BROKER": self.cluster.address, "NEWSFEED_TOPIC_PREFIX": self.prefix,
                "NEWSFEED_APP_ID": self.settings.app_id, "NEWSFEED_OUTPUT_DIR": str(self.output),
                "NEWSFEED_SECURITY_PROTOCOL": "SASL_SSL", "NEWSFEED_SASL_MECHANISM": "SCRAM-SHA-512",
                "NEWSFEED_SASL_USERNAME": user, "NEWSFEED_SASL_PASSWORD_FILE": str(secret),
                "NEWSFEED_SSL_CAFILE": str(cafile or self.certs.ca), "NEWSFEED_VALIDATE_OUTPUT": "1",
                "NEWSFEED_HTTP_PORT": str(free_port()),   # a worker's: never 6066, which another may hold
                **{k: str(v) for k, v in extra.items()}}

    def admin_env(self) -> dict[str, str]:
        self.passwords.setdefault("admin", self.cluster.admin_password)
        return self.env("admin")


def newsfeed(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def assert_secret_not_in(texts, *secrets_: str) -> None:
    for text in texts:
        for secret in secrets_:
            assert secret not in text, "a password appeared in a log line"


@pytest.fixture
def ns(cluster, certs, tmp_path):
    space = Namespace(cluster, certs, tmp_path)
    created = newsfeed("topics", env=space.admin_env())
    assert created.returncode == 0, created.stderr
    return space


def seed_ids() -> list[str]:
    return sorted(item.key for item in items([SEEDS]))


def test_seeds_flow_end_to_end_over_sasl_ssl(ns):
    worker = ns.user("worker", acls.worker_acls(ns.settings))
    producer = ns.user("producer", acls.producer_acls(ns.settings))
    reader = ns.user("reader", acls.reader_acls(ns.settings, "newsfeed-tail-", "PREFIXED")
                     + [("GROUP", "my-service-rdkafka", "LITERAL", "READ"), ("GROUP", "java-", "PREFIXED", "READ")])
    log = ns.tmp / "worker.log"
    proc = start_worker(ns.env(worker), log, cwd=ROOT)
    try:
        wait_workers_ready([log], [proc], timeout=180)
        sent = newsfeed("replay", "seeds/", env=ns.env(producer))
        assert sent.returncode == 0 and "sent 5, failed 0" in sent.stdout, sent.stdout + sent.stderr
        tailed = newsfeed("tail", "--from-beginning", "--max", "5", env=ns.env(reader), timeout=240)
        assert tailed.returncode == 0, tailed.stderr
    finally:
        stop_workers([proc])
    records = [orjson.loads(line) for line in tailed.stdout.splitlines()]
    assert sorted(r["id"] for r in records) == seed_ids()
    # a worker and a producer have no business with feed-state: no note about it
    assert "feed-state" not in log.read_text() + sent.stderr and "not on the cluster" not in sent.stderr
    for record in records:
        schemas.validate("enriched", record)
        assert record["ner"]["status"] == "ok" and record["entity_summary"]
    assert proc.returncode == 0
    assert_secret_not_in([log.read_text(), sent.stdout, sent.stderr, tailed.stderr], *ns.passwords.values())
    # librdkafka >= 2.6.1 (confluent-kafka's wheel bundles it) reads the same records over SCRAM-SHA-512
    assert sorted(r["id"] for r in librdkafka_read(ns, reader, "my-service-rdkafka", 5)) == seed_ids()
    # clients/java with a client properties file; without one against the TLS listener: exit 2, fast
    java = java_reader(ns, reader, with_properties=True)
    assert java.returncode == 0 and java.stdout.count("valid ") == 5, java.stdout + java.stderr
    started = time.monotonic()
    bare = java_reader(ns, reader, with_properties=False)
    assert bare.returncode == 2 and time.monotonic() - started < 60, bare.stdout + bare.stderr
    assert "EnrichedConsumer: no answer from " in bare.stderr and "the 6th argument" in bare.stderr


@pytest.mark.parametrize("command", [["worker"], ["replay", "seeds/"], ["tail", "--from-beginning"]])
def test_wrong_password_or_untrusted_ca_fails_at_start(ns, command):
    worker = ns.user("worker", acls.worker_acls(ns.settings))
    wrong = secrets.token_urlsafe(16)
    for env, message in ((ns.env(worker, password=wrong), f"SASL: the broker at {ns.cluster.address} refused "
                                                          f"user '{worker}' with SCRAM-SHA-512: wrong user name "
                                                          "or password"),
                         (ns.env(worker, cafile=ns.certs.other_ca), "TLS: the certificate of the broker at "
                                                                    f"{ns.cluster.address} is not trusted")):
        started = time.monotonic()
        done = newsfeed(*command, env=env, timeout=60)
        took = time.monotonic() - started
        print(f"$ newsfeed {' '.join(command)}  -> exit {done.returncode} in {took:.1f}s\n{done.stderr}")
        assert done.returncode == 2, done.stdout + done.stderr
        assert message in " ".join(done.stderr.split()), done.stderr
        assert took < 20
        assert_secret_not_in([done.stdout, done.stderr], wrong, *ns.passwords.values())


def committed_and_end(ns, topic: str) -> tuple[dict[int, int], dict[int, int]]:
    """The worker group's committed offsets on `topic`, and the topic's end offsets (read as the admin)."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

    from pipeline.kafka.topics import partitions_of

    admin = KafkaAdminClient(bootstrap_servers=ns.cluster.address, **ns.cluster.client_security)
    consumer = KafkaConsumer(bootstrap_servers=ns.cluster.address, **ns.cluster.client_security)
    try:
        offsets = admin.list_group_offsets({ns.settings.app_id: None}).get(ns.settings.app_id, {})
        count = partitions_of(ns.settings, topic[len(ns.settings.topic_prefix):])
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(count)])
    finally:
        admin.close()
        consumer.close()
    return ({tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic},
            {tp.partition: end for tp, end in ends.items()})


def test_no_write_access_to_enriched_fails_loudly_and_commits_nothing_past_it(ns):
    grants = [g for g in acls.worker_acls(ns.settings) if g != ("TOPIC", ns.settings.topic("enriched"), "LITERAL",
                                                                "WRITE")]
    worker = ns.user("worker", grants)
    producer = ns.user("producer", acls.producer_acls(ns.settings))
    reader = ns.user("reader", acls.reader_acls(ns.settings, "newsfeed-tail-", "PREFIXED"))
    sent = newsfeed("replay", "seeds/", "--limit", "1", env=ns.env(producer))
    assert sent.returncode == 0, sent.stderr
    log = ns.tmp / "worker.log"
    env = ns.env(worker, NEWSFEED_OUTPUT_WAIT=8, NEWSFEED_NER_MODELS=NO_NER)
    proc = start_worker(env, log, cwd=ROOT)
    try:
        assert proc.wait(180) == 4
    finally:
        stop_workers([proc])
    text = log.read_text()
    print(text[-3000:])
    assert "TopicAuthorizationFailedError" in text and ns.settings.topic("enriched") in text
    assert "still failing after 8s (NEWSFEED_OUTPUT_WAIT=8)" in text
    assert "exception was never retrieved" not in text   # each failed send's error is retrieved
    # the article reached `tagged` (the story stage writes enriched), and the group committed nothing there:
    # it is read again after the fix
    commits, ends = committed_and_end(ns, ns.settings.topic("tagged"))
    print("tagged: committed", commits, "end", ends)
    [(partition, end)] = [(p, e) for p, e in ends.items() if e]
    assert end == 1 and commits.get(partition, 0) == 0

    ns.cluster.allow(worker, [("TOPIC", ns.settings.topic("enriched"), "LITERAL", "WRITE")])
    proc = start_worker(env, log, cwd=ROOT)
    try:
        tailed = newsfeed("tail", "--from-beginning", "--max", "1", env=ns.env(reader), timeout=180)
    finally:
        stop_workers([proc])
    assert tailed.returncode == 0, tailed.stderr
    assert [orjson.loads(line)["id"] for line in tailed.stdout.splitlines()] == seed_ids()[:1]
    assert_secret_not_in([log.read_text()], *ns.passwords.values())


def test_read_only_consumer_reads_enriched_but_cannot_produce(ns):
    from kafka import KafkaProducer
    from kafka.errors import KafkaError

    reader = ns.user("reader", acls.reader_acls(ns.settings, "newsfeed-tail-", "PREFIXED"))
    article = {"id": "acl-probe", "text": "written by the admin"}
    admin = KafkaProducer(bootstrap_servers=ns.cluster.address, **ns.cluster.client_security)
    admin.send(ns.settings.topic("enriched"), key=b"acl-probe", value=orjson.dumps(article)).get(30)
    admin.close()
    tailed = newsfeed("tail", "--from-beginning", "--max", "1", env=ns.env(reader))
    assert tailed.returncode == 0 and orjson.loads(tailed.stdout) == article, tailed.stderr

    sent = newsfeed("replay", "seeds/", "--limit", "1", env=ns.env(reader))
    print(sent.stdout + sent.stderr)
    # refused before anything is sent: the topic is not even visible to it
    assert sent.returncode == 2 and "sent " not in sent.stdout
    assert sent.stderr.splitlines() == [(f"newsfeed replay: not authorised: User:{reader} needs an ALLOW ACL for "
                                            f"Write on topic '{ns.settings.topic('raw')}' "
                                            "(TopicAuthorizationFailedError)")]
    # and not the enriched topic either, which it reads
    env = ns.env(reader)
    settings_env = {k: v for k, v in env.items() if k.startswith("NEWSFEED_")}
    old = {k: os.environ.get(k) for k in settings_env}
    os.environ.update(settings_env)
    try:
        opts = Settings().kafka_python_security()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    producer = KafkaProducer(bootstrap_servers=ns.cluster.address, **opts)
    try:
        # refused before any topic: an idempotent producer (kafka-python's default) needs WRITE on some topic
        with pytest.raises(KafkaError, match="ClusterAuthorizationFailedError"):
            producer.send(ns.settings.topic("enriched"), key=b"x", value=b"{}").get(30)
    finally:
        producer.close()


def test_every_refusal_is_one_line_naming_the_resource_and_the_acl(ns):
    """Each command as a principal without the ACL it needs: exit 2, one line on stderr, no traceback."""
    reader = ns.user("reader", acls.reader_acls(ns.settings, "my-service"))
    producer = ns.user("producer", acls.producer_acls(ns.settings))
    no_group = ns.user("worker", [g for g in acls.worker_acls(ns.settings) if g[0] != "GROUP"])
    prefix, app = ns.settings.topic_prefix, ns.settings.app_id
    cases = [
        (["worker"], reader,
         rf"newsfeed worker: not authorised: User:{reader} needs an ALLOW ACL for Read and Write on topic "
         rf"'{prefix}deadletter', .*Read on topic '{prefix}raw'.* \(TopicAuthorizationFailedError\)"),
        (["worker"], no_group,
         rf"newsfeed worker: not authorised: User:{no_group} needs an ALLOW ACL for Read on group '{app}' "
         rf"\(GroupAuthorizationFailedError\); grant Read on the prefix '{app}' .*"),
        (["tail", "--from-beginning", "--max", "1"], reader,
         rf"newsfeed tail: not authorised: User:{reader} needs an ALLOW ACL for Read on group 'newsfeed-tail-\w+' "
         r"\(GroupAuthorizationFailedError\); pass --group with a group it may read, or grant Read on the prefix "
         r"newsfeed-tail- \(tail without --group makes a new group each time\)"),
        (["tail", "--topic", "raw", "--group", "my-service"], reader,
         rf"newsfeed tail: not authorised: User:{reader} needs an ALLOW ACL for Read on topic '{prefix}raw' "
         r"\(TopicAuthorizationFailedError\)"),
        (["status"], reader,
         rf"newsfeed status: not authorised: User:{reader} needs an ALLOW ACL for Describe on group '{app}' "
         r"\(GroupAuthorizationFailedError\); grant Describe on the prefix .*"),
        (["topics"], reader,
         rf"newsfeed topics: not authorised: User:{reader} needs an ALLOW ACL for Create on topic .*"),
        (["feeds", "http://127.0.0.1:9/rss", "--once"], producer,
         rf"newsfeed feeds: not authorised: User:{producer} needs an ALLOW ACL for Write on topic '{prefix}deadletter', "
         rf"Read and Write on topic '{prefix}feed-state' \(TopicAuthorizationFailedError\)"),
    ]
    for args, user, expected in cases:
        done = newsfeed(*args, env=ns.env(user, NEWSFEED_FEEDS_HTTP_PORT=0, NEWSFEED_FEEDS_ALLOW_PRIVATE=1),
                        timeout=60)
        print(f"$ newsfeed {' '.join(args)}  -> exit {done.returncode}\n{done.stderr}")
        assert done.returncode == 2, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert re.fullmatch(expected, lines[-1]), lines[-1]
        assert len(lines) == 1 or args[0] == "feeds", done.stderr   # the poller logs its start before
        assert "Traceback" not in done.stderr and "──" not in done.stderr


def test_status_and_feeds_principals_work_with_the_readme_acls(ns):
    status = ns.user("status", acls.status_acls(ns.settings))
    feeds = ns.user("feeds", acls.feeds_acls(ns.settings))
    done = newsfeed("status", "--json", "--interval", "0.5", env=ns.env(status))
    assert done.returncode == 0 and orjson.loads(done.stdout)["stages"], done.stderr
    polled = newsfeed("feeds", "http://127.0.0.1:9/rss", "--once",
                      env=ns.env(feeds, NEWSFEED_FEEDS_HTTP_PORT=0, NEWSFEED_FEEDS_ALLOW_PRIVATE=1))
    assert polled.returncode == 0 and "feeds polled: 1" in polled.stdout, polled.stdout + polled.stderr
    assert "not on the cluster" not in polled.stderr and "left to the cluster" not in polled.stderr


def test_web_principal_reads_with_the_readme_acls(ns):
    """`newsfeed web` as User:web with exactly acls.web_acls: its group joins (else /health turns 503), the
    pipeline status is read, and nothing it was not granted is needed."""
    import urllib.request

    from http_helpers import free_port

    web = ns.user("web", acls.web_acls(ns.settings))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "web", "--port", str(port)], env=ns.env(web),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, status = time.monotonic() + 60, {}
        while time.monotonic() < deadline and not status.get("stages"):
            time.sleep(1)
            try:
                status = orjson.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/pipeline").read())["status"]
            except OSError:
                assert proc.poll() is None
        assert status.get("stages") and "error" not in status, status
        assert urllib.request.urlopen(f"http://127.0.0.1:{port}/health").status == 200
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0 and "Traceback" not in output, output
