"""Which broker engine answers: decided from what the broker itself reports, never from a user setting.

Tansu names its cluster `tansu_cluster` in DescribeCluster and finalizes no features in ApiVersions; Apache
Kafka (KRaft) reports a random cluster id and a finalized `metadata.version`. Only Tansu gets the Tansu
workarounds (pipeline/runtime/group_leave.py, the short fetch wait); anything else is treated as Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BrokerEngine:
    name: str            # "tansu" or "kafka"
    description: str     # for logs: what the broker said about itself

    @property
    def is_tansu(self) -> bool:
        return self.name == "tansu"


def classify(cluster_id: str, features: dict) -> BrokerEngine:
    if (cluster_id or "").startswith("tansu"):
        return BrokerEngine("tansu", f"Tansu (cluster id {cluster_id!r}, no finalized features)")
    level = features.get("metadata.version", {}).get("finalized")
    what = f"metadata.version {level[1]}" if level else "no finalized metadata.version"
    return BrokerEngine("kafka", f"Apache Kafka or compatible (cluster id {cluster_id}, {what})")


def detect(bootstrap: str, security: dict | None = None) -> BrokerEngine:
    """Ask the broker (DescribeCluster, ApiVersions v3 features). Raises when it cannot be reached."""
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000, **(security or {}))
    try:
        cluster_id = admin.describe_cluster().get("cluster_id") or ""
        try:
            features = admin.describe_features()
        except Exception:  # brokers before 2.4 have no feature flags: nothing Tansu-specific either
            features = {}
        return classify(cluster_id, features)
    finally:
        admin.close()
