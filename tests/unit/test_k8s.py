"""k8s/: every overlay renders (kubectl's built-in kustomize, offline) and every manifest
validates against the Kubernetes schemas in strict mode (a misspelt field fails); the
operators' resources (Strimzi, CloudNativePG, Prometheus Operator) are checked for their
shape; every setting the manifests pass is one the code reads, and every alert reads metrics
the code exposes."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from prometheus_client import REGISTRY

from services.portal.app import ROUTERS
from shared.health import CHECK_SECONDS
from tests.unit.test_deploy import ALIASES, known_variables

K8S = Path(__file__).parents[2] / "k8s"
OVERLAYS = sorted(path.parent.name for path in (K8S / "overlays").glob("*/kustomization.yaml"))
KUBECTL = Path(sys.executable).parent / "kubectl"
KUBERNETES = "1.33.0"
OPERATOR_KINDS = {"kafka.strimzi.io": {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"},
                  "postgresql.cnpg.io": {"Cluster", "ScheduledBackup"},
                  "monitoring.coreos.com": {"PodMonitor", "PrometheusRule"}}


def render(overlay: Path) -> list[dict[str, Any]]:
    result = subprocess.run([str(KUBECTL), "kustomize", str(overlay)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def manifests(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(K8S / "overlays" / request.param)


def test_there_is_an_overlay_per_tier() -> None:
    assert OVERLAYS == ["municipal", "national", "provincial"]


def test_every_manifest_validates_strictly(manifests: list[dict[str, Any]]) -> None:
    for manifest in manifests:
        group = manifest["apiVersion"].split("/")[0]
        if group in OPERATOR_KINDS:
            assert manifest["kind"] in OPERATOR_KINDS[group]
            assert manifest["metadata"]["name"] and isinstance(manifest["spec"], dict)
            continue
        kubernetes_validate.validate(manifest, KUBERNETES, strict=True)


def test_a_misspelt_field_fails_strict_validation(manifests: list[dict[str, Any]]) -> None:
    deployment = next(item for item in manifests if item["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_each_component_has_probes_resources_autoscaling_and_a_disruption_budget(
    manifests: list[dict[str, Any]]
) -> None:
    kinds: dict[str, set[str]] = {}
    for item in manifests:
        kinds.setdefault(item["kind"], set()).add(item["metadata"]["name"])
    components = {"authorization", "catalog", "exchange", "evaluation", "portal", "gateway"}
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        assert components <= kinds[kind], kind
    for deployment in (item for item in manifests if item["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert {"readinessProbe", "livenessProbe", "resources"} <= set(container)
    assert {"Kafka", "KafkaTopic", "KafkaUser", "Cluster", "Ingress", "Job",
            "NetworkPolicy"} <= set(kinds)


def test_every_pod_carries_the_label_the_network_policies_admit(
    manifests: list[dict[str, Any]]
) -> None:
    for item in manifests:
        if item["kind"] in ("Deployment", "Job"):
            labels = item["spec"]["template"]["metadata"]["labels"]
            assert labels.get("app.kubernetes.io/part-of") == "govshare", item["metadata"]


def test_only_settings_the_code_reads_are_passed(manifests: list[dict[str, Any]]) -> None:
    config = next(item for item in manifests if item["kind"] == "ConfigMap")
    passed = set(config["data"])
    for item in manifests:
        if item["kind"] in ("Deployment", "Job"):
            for container in item["spec"]["template"]["spec"]["containers"]:
                passed |= {variable["name"] for variable in container.get("env", [])}
    settings = {name for name in passed if name.startswith("GOVSHARE_") or name in ALIASES}
    assert settings == passed and not settings - known_variables()


def test_prometheus_scrapes_every_pod_and_the_ingress_routes_only_public_paths(
    manifests: list[dict[str, Any]]
) -> None:
    [monitor] = [item for item in manifests if item["kind"] == "PodMonitor"]
    assert monitor["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/part-of": "govshare"}
    assert {(endpoint["port"], endpoint["path"])
            for endpoint in monitor["spec"]["podMetricsEndpoints"]} == {("http", "/metrics")}
    scraping = [item for item in manifests if item["kind"] == "NetworkPolicy"
                and item["spec"]["podSelector"].get("matchLabels") == {
                    "app.kubernetes.io/part-of": "govshare"}]
    assert scraping and any(
        source.get("namespaceSelector") for policy in scraping
        for rule in policy["spec"]["ingress"] for source in rule["from"])
    [ingress] = [item for item in manifests if item["kind"] == "Ingress"]
    paths = {path["path"] for rule in ingress["spec"]["rules"]
             for path in rule["http"]["paths"]}
    assert {"/api", "/federation", "/nodes", "/oauth"} <= paths
    prefixes = {path["path"] for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"] if path["pathType"] == "Prefix"}
    assert not any("/metrics".startswith(path) for path in prefixes)


def test_the_ingress_routes_every_page_of_the_portal(manifests: list[dict[str, Any]]) -> None:
    """The pages are named one by one (a catch-all would route /metrics): none is missing."""
    [ingress] = [item for item in manifests if item["kind"] == "Ingress"]
    routed = {(path["path"], path["pathType"]) for rule in ingress["spec"]["rules"]
              for path in rule["http"]["paths"]}
    pages = [route.path for router in ROUTERS for route in router.routes] + ["/static"]
    for path in pages:
        first = "/" + path.strip("/").split("/")[0]
        assert ((path, "Exact") if path == "/" else (first, "Prefix")) in routed, path


def exposed_metric_names() -> set[str]:
    """Every series name the node's processes can expose, as Prometheus sees it."""
    for module in ("shared.metrics", "services.authorization.metrics",
                   "services.catalog.metrics", "services.exchange.metrics",
                   "services.portal.mail"):
        importlib.import_module(module)
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"),
                "gauge": ("",)}
    return {family.name + suffix for family in REGISTRY.collect()
            for suffix in suffixes.get(family.type, ("",))}


def test_every_alert_reads_metrics_the_code_exposes(manifests: list[dict[str, Any]]) -> None:
    [rules] = [item for item in manifests if item["kind"] == "PrometheusRule"]
    alerts = [rule for group in rules["spec"]["groups"] for rule in group["rules"]]
    assert len(alerts) >= 5
    exposed = exposed_metric_names()
    for alert in alerts:
        used = set(re.findall(r"\bgovshare_[a-z_]+", alert["expr"]))
        assert used and used <= exposed, (alert["alert"], used - exposed)


def test_the_probes_ask_each_process_whether_it_lives_and_whether_it_can_serve(
    manifests: list[dict[str, Any]]
) -> None:
    """Readiness on /health/ready, which a shared dependency's outage leaves up (every pod
    out would leave callers the Ingress's bare 503), never on /health; liveness on
    /health/live, each answered within the probe's time (the checks are bounded at 2 s)."""
    for deployment in (item for item in manifests if item["kind"] == "Deployment"):
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        ports = {port["name"] for port in container["ports"]}
        for probe, path in (("readinessProbe", "/health/ready"),
                            ("livenessProbe", "/health/live")):
            check = container[probe]
            assert check["httpGet"] == {"path": path, "port": "http"}, (
                deployment["metadata"]["name"], probe)
            assert "http" in ports and check["timeoutSeconds"] > CHECK_SECONDS
        # A process is restarted only well after it stops being ready.
        live, ready = container["livenessProbe"], container["readinessProbe"]
        assert (live["periodSeconds"] * live["failureThreshold"]
                > ready["periodSeconds"] * ready["failureThreshold"])


def test_the_alerts_docs_operations_names_watch_the_consumers_own_figures(
    manifests: list[dict[str, Any]]
) -> None:
    [rules] = [item for item in manifests if item["kind"] == "PrometheusRule"]
    alerts = {rule["alert"]: rule["expr"] for group in rules["spec"]["groups"]
              for rule in group["rules"]}
    dead_letters = alerts["GovshareDeadLetters"]
    assert "govshare_consumer_events_total" in dead_letters
    assert 'outcome="dead_lettered"' in dead_letters
    # The consumer logs the failing handler as an error at its 5th failure in a row
    # (shared.consumer): the alert fires on the same count.
    assert re.search(r"\bgovshare_consumer_handler_failures_in_a_row\b\)?\s*>=\s*5\b",
                     alerts["GovshareHandlerFailing"])
