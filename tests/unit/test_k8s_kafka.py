"""k8s/: the broker speaks only TLS with SCRAM and authorizes every request; each service
is a principal of its own whose ACLs are exactly what its code needs (derived here from the
code: the topics its consumer reads, the events its modules publish, its markers and dead
letters); every service's pods connect as that principal; and a department's principal
(k8s/departments/) reads only its own deliveries and writes only the ingest topic."""

from __future__ import annotations

import ast
import importlib
import string
import uuid
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

import pytest
import yaml

from services.exchange.subscriptions import DELIVERY_TOPICS, delivery_topic
from shared import runtime as runtime_module
from shared.contracts import exchange as exchange_contract
from shared.events import EventData, topic_for
from shared.outbox import OutboxRelay
from shared.settings import ServiceSettings
from tests import factories
from tests.unit.test_k8s import K8S, OVERLAYS, render

ROOT = Path(__file__).parents[2]
SERVICES = ("authorization", "catalog", "evaluation", "exchange", "portal")
DEPARTMENT_TEMPLATE = K8S / "departments" / "kafka-user.template.yaml"
# Kafka's own rule: each of these lets a principal Describe the resource too.
IMPLIES_DESCRIBE = {"Read", "Write", "Delete", "Alter"}


class Acl(NamedTuple):
    resource: str  # topic, group, cluster, transactionalId
    name: str
    pattern: str  # literal or prefix
    operation: str


def acls_of(user: dict[str, Any]) -> set[Acl]:
    authorization = user["spec"]["authorization"]
    assert authorization["type"] == "simple"
    found = set()
    for rule in authorization["acls"]:
        assert rule.get("type", "allow") == "allow" and rule.get("host", "*") == "*", rule
        resource = rule["resource"]
        for operation in rule["operations"]:
            found.add(Acl(resource["type"], resource["name"],
                          resource.get("patternType", "literal"), operation))
    return found


def permits(acls: set[Acl], resource: str, name: str, operation: str) -> bool:
    """Whether Kafka's simple authorizer lets these ACLs do `operation` on the resource."""
    for acl in acls:
        if acl.resource != resource:
            continue
        named = (acl.name == name or acl.name == "*" if acl.pattern == "literal"
                 else name.startswith(acl.name))
        granted = (acl.operation in (operation, "All")
                   or (operation == "Describe" and acl.operation in IMPLIES_DESCRIBE))
        if named and granted:
            return True
    return False


# What a service's code does on the broker.

def _event_classes() -> dict[str, type[EventData]]:
    for module in ("catalog", "evaluation", "exchange", "identity", "sharing"):
        importlib.import_module(f"shared.contracts.{module}")
    found: dict[str, type[EventData]] = {}
    pending = list(EventData.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if "event_type" in vars(cls):
            found[cls.__name__] = cls
    return found


class _NamesUsed(ast.NodeVisitor):
    """Names a module uses as values: annotations say what is received, not what is sent."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_arg(self, node: ast.arg) -> None:
        return None

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for part in [*node.decorator_list, *node.args.defaults, *node.body]:
            self.visit(part)
        for default in node.args.kw_defaults:
            if default is not None:
                self.visit(default)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def visit_Name(self, node: ast.Name) -> None:
        self.names.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self.names.add(node.attr)
        self.generic_visit(node)


def names_used(service: str) -> set[str]:
    """What the service's modules use, but for its handlers (which name what it consumes)."""
    visitor = _NamesUsed()
    for path in (ROOT / "services" / service).rglob("*.py"):
        if path.name != "handlers.py" and "migrations" not in path.parts:
            visitor.visit(ast.parse(path.read_text()))
    return visitor.names


@pytest.fixture(scope="module")
async def runtimes() -> AsyncIterator[dict[str, runtime_module.ServiceRuntime]]:
    """Each service's runtime as its own app factory builds it (nothing is started)."""
    made: dict[str, runtime_module.ServiceRuntime] = {}

    class Recorded(runtime_module.ServiceRuntime):
        def __init__(self, **arguments: Any) -> None:
            super().__init__(**arguments)
            made[self.name] = self

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", "postgresql+asyncpg://govshare@127.0.0.1:1/govshare")
        patch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:1")
        for service in SERVICES:
            app = importlib.import_module(f"services.{service}.app")
            patch.setattr(app, "ServiceRuntime", Recorded)
            app.create_app()
    yield made
    for made_runtime in made.values():
        await made_runtime.engine.dispose()


def needed_acls(service: str, runtime: runtime_module.ServiceRuntime) -> set[Acl]:
    """The ACLs the code of `service` needs: no more, or a stolen password reaches further."""
    events = _event_classes()
    used = names_used(service)
    published = {topic_for(events[name].event_type) for name in used & set(events)}
    relay = OutboxRelay(sessions=Any, producer=Any, probe=Any,  # type: ignore[arg-type]
                        service=runtime.name)
    written = published | {relay.epoch_topic}
    acls: set[Acl] = set()
    if runtime.consumer is not None:
        consumer = runtime.consumer
        acls.add(Acl("group", consumer.name, "literal", "Read"))
        acls |= {Acl("topic", topic, "literal", operation) for topic in consumer.topics
                 for operation in ("Read", "Describe")}
        written |= {consumer.epoch_topic, consumer.dead_letter_topic}
    # Made by the broker on first use: the producer's metadata request creates them.
    acls |= {Acl("topic", topic, "literal", operation) for topic in written
             for operation in ("Write", "Describe", "Create")}
    if "delivery_topic" in used:  # a topic per Kafka subscription (E4)
        acls |= {Acl("topic", DELIVERY_TOPICS, "prefix", operation)
                 for operation in ("Write", "Describe", "Create")}
    return acls


# The manifests.

@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / "overlays" / request.param)


def one(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [item for item in manifests
               if item["kind"] == kind and item["metadata"]["name"] == name]
    return found


def department_user(code: str) -> dict[str, Any]:
    text = string.Template(DEPARTMENT_TEMPLATE.read_text()).safe_substitute(
        CODE=code, code=code.lower())
    [user] = [doc for doc in yaml.safe_load_all(text) if doc]
    assert "${" not in yaml.safe_dump(user)
    return user


def test_the_broker_has_no_listener_without_tls_and_authentication(
    manifests: list[dict[str, Any]]
) -> None:
    [kafka] = [item for item in manifests if item["kind"] == "Kafka"]
    listeners = kafka["spec"]["kafka"]["listeners"]
    assert listeners
    for listener in listeners:
        assert listener["tls"] is True, listener["name"]
        assert listener["authentication"]["type"] in ("scram-sha-512", "tls"), listener["name"]
        # Strimzi opens a listener to anyone unless peers are named.
        assert listener["networkPolicyPeers"], listener["name"]
    assert kafka["spec"]["kafka"]["authorization"] == {"type": "simple"}  # no superusers


def test_each_service_has_exactly_the_acls_its_code_needs(
    manifests: list[dict[str, Any]], runtimes: dict[str, runtime_module.ServiceRuntime]
) -> None:
    assert set(runtimes) == set(SERVICES)
    for service, runtime in runtimes.items():
        user = one(manifests, "KafkaUser", f"govshare-{service}")
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        declared, needed = acls_of(user), needed_acls(service, runtime)
        assert declared == needed, (
            f"k8s/base/kafka-users.yaml, govshare-{service}: "
            f"missing {sorted(needed - declared)}, not needed {sorted(declared - needed)}")
    users = {item["metadata"]["name"] for item in manifests if item["kind"] == "KafkaUser"}
    assert users == {f"govshare-{service}" for service in SERVICES}


def test_the_derived_acls_see_what_the_services_do() -> None:
    """The derivation itself: known facts of the code come out of it."""
    assert "IngestRejected" in names_used("exchange") and "delivery_topic" in names_used(
        "exchange")
    assert "delivery_topic" not in names_used("catalog")
    assert exchange_contract.INGEST_TOPIC == "govshare.ingest.record"


def test_every_service_pod_connects_as_its_own_principal_over_tls(
    manifests: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = one(manifests, "ConfigMap", "govshare-config")["data"]
    [kafka] = [item for item in manifests if item["kind"] == "Kafka"]
    host, port = config["KAFKA_BOOTSTRAP_SERVERS"].split(":")
    [listener] = [listener for listener in kafka["spec"]["kafka"]["listeners"]
                  if listener["port"] == int(port)]
    assert host == f"{kafka['metadata']['name']}-kafka-bootstrap"
    assert listener["type"] == "internal"
    assert config["KAFKA_SASL_MECHANISM"].lower() == listener["authentication"]["type"]
    for service in SERVICES:
        pod = one(manifests, "Deployment", service)["spec"]["template"]["spec"]
        [container] = pod["containers"]
        env = {variable["name"]: variable for variable in container["env"]}
        assert env["KAFKA_SASL_USERNAME"]["value"] == f"govshare-{service}"
        assert env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
            "name": f"govshare-{service}", "key": "password"}  # Strimzi's Secret of the user
        [mount] = container["volumeMounts"]
        [volume] = [volume for volume in pod["volumes"] if volume["name"] == mount["name"]]
        assert volume["secret"]["secretName"] == f"{kafka['metadata']['name']}-cluster-ca-cert"
        assert (PurePosixPath(mount["mountPath"]) / volume["secret"]["items"][0]["path"]
                == PurePosixPath(config["KAFKA_SSL_CAFILE"]))
        # What the service makes of that environment.
        for name, value in {**config, **{name: variable.get("value", "from its Secret")
                                         for name, variable in env.items()}}.items():
            monkeypatch.setenv(name, value)
        security = ServiceSettings().kafka_security  # type: ignore[call-arg]
        assert (security.protocol, security.username) == ("SASL_SSL", f"govshare-{service}")
    gateway = one(manifests, "Deployment", "gateway")["spec"]["template"]["spec"]
    assert not any(variable["name"].startswith("KAFKA_SASL")
                   for variable in gateway["containers"][0].get("env", []))


@pytest.fixture(scope="module")
def departments() -> tuple[str, str]:
    first = factories.credit_code("320100")
    second = first
    while second == first:
        second = factories.credit_code("320100")  # the same region: the same first digits
    return first, second


def everything_on_the_broker(runtimes: dict[str, runtime_module.ServiceRuntime],
                             codes: tuple[str, ...]) -> set[str]:
    topics = {acl.name for service, runtime in runtimes.items()
              for acl in needed_acls(service, runtime)
              if acl.resource == "topic" and acl.pattern == "literal"}
    topics |= {exchange_contract.INGEST_TOPIC}
    for code in codes:
        topics |= {delivery_topic(code, uuid.uuid4())}
    return topics


def test_a_department_reads_only_its_own_deliveries_and_the_rejections(
    departments: tuple[str, str], runtimes: dict[str, runtime_module.ServiceRuntime]
) -> None:
    mine, theirs = departments
    acls = acls_of(department_user(mine))
    own = delivery_topic(mine, uuid.uuid4())
    assert permits(acls, "topic", own, "Read")
    assert permits(acls, "group", f"department.{mine}.delivery", "Read")
    readable = {topic for topic in everything_on_the_broker(runtimes, departments)
                if permits(acls, "topic", topic, "Read")}
    assert {topic for topic in readable if not topic.startswith(f"govshare.delivery.{mine}.")
            } == {"govshare.ingest.rejection"}  # Kafka cannot narrow it to its own key
    assert not permits(acls, "topic", delivery_topic(theirs, uuid.uuid4()), "Describe")
    for group in (f"department.{theirs}.delivery", *SERVICES):
        assert not permits(acls, "group", group, "Read")


def test_a_department_writes_only_the_ingest_topic_and_makes_nothing(
    departments: tuple[str, str], runtimes: dict[str, runtime_module.ServiceRuntime]
) -> None:
    mine, _ = departments
    acls = acls_of(department_user(mine))
    writable = {topic for topic in everything_on_the_broker(runtimes, departments)
                for operation in ("Write", "Create", "Delete", "Alter", "AlterConfigs")
                if permits(acls, "topic", topic, operation)}
    assert writable == {exchange_contract.INGEST_TOPIC}
    assert not permits(acls, "topic", f"govshare.delivery.{mine}.made-by-me", "Create")
    assert {acl.resource for acl in acls} == {"topic", "group"}  # nothing on the cluster
    assert not any(acl.operation == "All" for acl in acls)


def test_the_department_user_is_named_for_kubernetes_and_the_cluster() -> None:
    code = factories.credit_code()
    user = department_user(code)
    assert user["metadata"]["name"] == f"department-{code.lower()}"
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == "govshare"
    assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
