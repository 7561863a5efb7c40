"""Every Kafka client a service makes connects as the settings say: plaintext by default (the
embedded broker on loopback), TLS and SCRAM with KAFKA_SECURITY_PROTOCOL=SASL_SSL, checking
the broker's certificate against KAFKA_SSL_CAFILE before a byte of its request leaves; and
no client is made anywhere but shared/kafka.py, so none is left out."""

from __future__ import annotations

import ast
import asyncio
import datetime
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import ValidationError

from services.catalog import handlers
from shared.kafka import PLAINTEXT, BrokerProbe, KafkaSecurity, create_group_consumer
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

ROOT = Path(__file__).parents[2]
KAFKA_VARIABLES = ("KAFKA_SECURITY_PROTOCOL", "KAFKA_SASL_MECHANISM", "KAFKA_SASL_USERNAME",
                   "KAFKA_SASL_PASSWORD", "KAFKA_SSL_CAFILE")
CLIENT_CLASSES = {"AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient",
                  "AIOKafkaClient"}


class Authority:
    """A certificate authority of its own, as Strimzi makes one per cluster."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = self._sign(self.name, self.key.public_key(), [
            x509.BasicConstraints(ca=True, path_length=None)])

    def issue(self, directory: Path, names: list[x509.GeneralName]) -> ssl.SSLContext:
        """A server's certificate for `names`, as a TLS server context."""
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = self._sign(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "broker")]),
                                 key.public_key(), [x509.SubjectAlternativeName(names)])
        (directory / "broker.pem").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
            + key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(directory / "broker.pem")
        return context

    def write(self, path: Path) -> Path:
        path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        return path

    def _sign(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey,
              extensions: list[x509.ExtensionType]) -> x509.Certificate:
        now = datetime.datetime.now(datetime.UTC)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.name)
                   .public_key(public_key).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=1)))
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        return builder.sign(self.key, hashes.SHA256())


class BrokerImpostor:
    """A TLS listener that records whatever a client sends once the handshake succeeded."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.received = b""
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> BrokerImpostor:
        self._server = await asyncio.start_server(self._take, "127.0.0.1", 0, ssl=self.context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _take(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.received += await asyncio.wait_for(reader.read(4096), 5)
        finally:
            writer.close()


@pytest.fixture
def no_kafka_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in KAFKA_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    yield


def settings(**kafka: str) -> ServiceSettings:
    return ServiceSettings(DATABASE_URL="postgresql+asyncpg://govshare@127.0.0.1/govshare",
                           KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9093", **kafka)  # type: ignore[arg-type]


async def reach(address: str, security: KafkaSecurity) -> None:
    """Try to start a probe against `address`; what the broker saw is what matters."""
    probe = BrokerProbe(address, "govshare-test-probe", security)
    try:
        await asyncio.wait_for(probe.start(), 5)
    except Exception:
        pass  # the impostor answers nothing a Kafka client can go on with
    finally:
        await probe.stop()


def test_the_embedded_default_is_plaintext(no_kafka_environment: None) -> None:
    assert settings().kafka_security == PLAINTEXT
    assert PLAINTEXT.client_options() == {"security_protocol": "PLAINTEXT"}


def test_scram_without_its_credentials_is_refused_at_start(no_kafka_environment: None) -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"):
        settings(KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_USERNAME="govshare-catalog")
    with pytest.raises(ValidationError):
        settings(KAFKA_SECURITY_PROTOCOL="SASL_SSL", KAFKA_SASL_MECHANISM="PLAIN",
                 KAFKA_SASL_USERNAME="govshare-catalog", KAFKA_SASL_PASSWORD="secret")


async def test_every_client_of_a_service_speaks_tls_and_scram_as_its_own_principal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ca_file = Authority("govshare cluster CA").write(tmp_path / "ca.crt")
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                        "KAFKA_SASL_USERNAME": "govshare-catalog",
                        "KAFKA_SASL_PASSWORD": "from the KafkaUser's Secret",
                        "KAFKA_SSL_CAFILE": str(ca_file)}.items():
        monkeypatch.setenv(name, value)
    runtime = ServiceRuntime(name="catalog", settings=settings(), migrations_dir=tmp_path)
    runtime.consume(handlers.handlers)
    assert runtime.consumer is not None
    group_member = create_group_consumer("127.0.0.1:9093", runtime.consumer.name,
                                         runtime.consumer.security)
    try:
        for client in (runtime.producer.client, runtime.probe._consumer._client,
                       group_member._client):
            assert client._security_protocol == "SASL_SSL"
            assert client._sasl_mechanism == "SCRAM-SHA-512"
            assert client._sasl_plain_username == "govshare-catalog"
            assert client._sasl_plain_password == "from the KafkaUser's Secret"
            assert client._ssl_context.verify_mode == ssl.CERT_REQUIRED
            assert client._ssl_context.check_hostname
    finally:
        await runtime.engine.dispose()
    assert "from the KafkaUser" not in repr(runtime.settings.kafka_security)


async def test_a_broker_without_the_cluster_cas_certificate_hears_nothing(
    tmp_path: Path
) -> None:
    cluster, impostor = Authority("govshare cluster CA"), Authority("someone else")
    security = KafkaSecurity(protocol="SASL_SSL", username="govshare-exchange",
                             password="the exchange's password",
                             ca_file=cluster.write(tmp_path / "ca.crt"))
    loopback = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    async with BrokerImpostor(cluster.issue(tmp_path, loopback)) as genuine:
        await reach(f"127.0.0.1:{genuine.port}", security)
    assert b"govshare-test-probe" in genuine.received  # through TLS, the CA's certificate
    for server in (impostor.issue(tmp_path, loopback),
                   cluster.issue(tmp_path, [x509.DNSName("kafka.elsewhere.example")])):
        async with BrokerImpostor(server) as fake:
            await reach(f"127.0.0.1:{fake.port}", security)
        assert fake.received == b""


async def test_a_plaintext_client_gets_nothing_from_a_tls_listener(tmp_path: Path) -> None:
    cluster = Authority("govshare cluster CA")
    context = cluster.issue(tmp_path, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    async with BrokerImpostor(context) as listener:
        await reach(f"127.0.0.1:{listener.port}", PLAINTEXT)
    assert listener.received == b""


def test_no_kafka_client_is_made_but_in_shared_kafka() -> None:
    """So the security settings reach every client: one made elsewhere would connect as
    nobody (or not at all) against the production cluster."""
    made_elsewhere = []
    for package in ("shared", "services", "gateway", "cli"):
        for path in (ROOT / package).rglob("*.py"):
            if path == ROOT / "shared" / "kafka.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call):
                    called = node.func.attr if isinstance(node.func, ast.Attribute) else (
                        node.func.id if isinstance(node.func, ast.Name) else "")
                    if called in CLIENT_CLASSES:
                        made_elsewhere.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not made_elsewhere
