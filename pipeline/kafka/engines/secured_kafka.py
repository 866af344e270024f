"""Apache Kafka with a SASL_SSL client listener, SCRAM users and ACLs: a secured cluster like production's.

Clients reach `address` over SASL_SSL (TLS with the given PEM key and certificate; SCRAM-SHA-256 or -512).
The only user at start is the super user `admin`, written into the storage by `StorageTool format
--add-scram` (the broker cannot let anyone in before a user exists); every other user and every ACL is then
created through the Admin API (`add_user`, `allow`), as on a real cluster. The StandardAuthorizer denies
whatever no ACL allows. The controller listener stays PLAINTEXT on loopback, unadvertised: the node talks to
its own controller as User:ANONYMOUS, which is therefore a super user too.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.kafka.engines.common import LOOPBACK
from pipeline.kafka.engines.apache_kafka import KafkaCluster

ADMIN = "admin"
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")


class SecuredKafkaCluster(KafkaCluster):
    """`keystore`: a PEM file with the broker's private key (PKCS#8, unencrypted) and certificate chain;
    `truststore`: the PEM CA file that client certificates (mTLS, optional) are checked against."""

    def __init__(self, keystore: Path, truststore: Path, admin_password: str, **kw):
        super().__init__(**kw)
        self.keystore, self.truststore, self.admin_password = Path(keystore), Path(truststore), admin_password
        # the readiness check (and `admin_client`) connect as the super user
        self.client_security = self.client_options(ADMIN, admin_password, cafile=str(truststore))

    @staticmethod
    def client_options(user: str, password: str, cafile: str, mechanism: str = "SCRAM-SHA-512") -> dict:
        """kafka-python options for a SCRAM user on this cluster (for the cluster's own set-up only:
        newsfeed's clients get theirs from pipeline/kafka/security.py)."""
        import ssl

        return {"security_protocol": "SASL_SSL", "ssl_context": ssl.create_default_context(cafile=cafile),
                "sasl_mechanism": mechanism, "sasl_plain_username": user, "sasl_plain_password": password}

    def listener_properties(self, node: int) -> dict[str, str]:
        port, controller = self.ports[node - 1], self.controller_ports[node - 1]
        jaas = (f'org.apache.kafka.common.security.scram.ScramLoginModule required username="{ADMIN}" '
                f'password="{self.admin_password}";')
        return {
            "listeners": f"SASL_SSL://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller}",
            "advertised.listeners": f"SASL_SSL://{LOOPBACK}:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": ",".join(SCRAM_MECHANISMS),
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            **{f"listener.name.sasl_ssl.{m.lower()}.sasl.jaas.config": jaas for m in SCRAM_MECHANISMS},
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.keystore),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.truststore),
            "ssl.client.auth": "requested",   # a client certificate is verified when one is presented
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": f"User:{ADMIN};User:ANONYMOUS",
        }

    def format_arguments(self) -> list[str]:
        return [arg for m in SCRAM_MECHANISMS
                for arg in ("--add-scram", f"{m}=[name={ADMIN},password={self.admin_password}]")]

    def admin_client(self):
        from kafka import KafkaAdminClient

        return KafkaAdminClient(bootstrap_servers=self.address, request_timeout_ms=10000, **self.client_security)

    def add_user(self, user: str, password: str) -> None:
        """A SCRAM user (both mechanisms), through the Admin API (AlterUserScramCredentials)."""
        from kafka.admin import UserScramCredentialUpsertion

        admin = self.admin_client()
        try:   # one request per mechanism: the broker refuses to alter a user twice in one request
            errors = [admin.alter_user_scram_credentials([UserScramCredentialUpsertion(user, m, password)])
                      for m in SCRAM_MECHANISMS]
        finally:
            admin.close()
        failed = {u: e for result in errors for u, e in result.items() if e}
        if failed:
            raise RuntimeError(f"creating SCRAM user {user} failed: {failed}")

    def allow(self, user: str, grants) -> None:
        """ALLOW ACLs for User:<user>, from any host: `grants` are (resource type, name, pattern type,
        operation) with kafka-python's enum member names, e.g. ("TOPIC", "newsfeed.raw", "LITERAL", "READ")."""
        from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern
        from kafka.admin import ResourceType

        acls = [ACL(f"User:{user}", "*", ACLOperation[op], ACLPermissionType.ALLOW,
                    ResourcePattern(ResourceType[kind], name, ACLResourcePatternType[pattern]))
                for kind, name, pattern, op in grants]
        admin = self.admin_client()
        try:
            result = admin.create_acls(acls)
        finally:
            admin.close()
        if result["failed"]:
            raise RuntimeError(f"creating ACLs for {user} failed: {result['failed']}")
