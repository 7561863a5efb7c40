"""deploy/: the compose file validates offline with the real Compose v2, and passes only
settings that exist; the image runs as a non-root user with a health check."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import compose
import pytest
import yaml

from cli.main import Component
from cli.settings import CliSettings
from gateway.settings import GatewaySettings
from services.authorization.settings import AuthorizationSettings
from services.catalog.settings import CatalogSettings
from services.evaluation.settings import EvaluationSettings
from services.exchange.settings import ExchangeSettings
from services.portal.settings import PortalSettings

DEPLOY = Path(__file__).parents[2] / "deploy"
COMPOSE_FILES = sorted(DEPLOY.glob("compose*.yaml"))
# The wheel's `docker-compose` script always exits 0; the binary beside the package does not.
COMPOSE = Path(compose.__file__).parent / "docker-compose"
SETTINGS = (CliSettings, GatewaySettings, AuthorizationSettings, CatalogSettings,
            EvaluationSettings, ExchangeSettings, PortalSettings)
# Settings read under a name of their own (DATABASE_URL, OTEL_EXPORTER_OTLP_ENDPOINT…).
ALIASES = {field.validation_alias for settings in SETTINGS
           for field in settings.model_fields.values()
           if isinstance(field.validation_alias, str)}


def known_variables() -> set[str]:
    names = set()
    for settings in SETTINGS:
        prefix = settings.model_config.get("env_prefix", "")
        for name, field in settings.model_fields.items():
            alias = field.validation_alias
            names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COMPOSE), "-f", str(path), "config", "--quiet"],
                          env=dict(os.environ, POSTGRES_PASSWORD="only-for-validation",
                                   GOVSHARE_AUDIT_KEY_SECRET="only-for-validation",
                                   **{f"GOVSHARE_KEK{node}": "only-for-validation"
                                      for node in ("", "_NATIONAL", "_JIANGSU", "_NANJING")}),
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_the_compose_file_is_valid_compose(path: Path) -> None:
    result = config(path)
    assert result.returncode == 0, result.stderr


def test_a_misspelt_field_fails_validation(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(COMPOSE_FILES[0].read_text().replace("environment:", "enviroment:", 1))
    result = config(broken)
    assert result.returncode != 0 and "enviroment" in result.stderr


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda path: path.name)
def test_every_setting_the_compose_file_passes_exists_and_every_command_runs_a_component(
    path: Path
) -> None:
    services = yaml.safe_load(path.read_text())["services"]
    ours = {name: service for name, service in services.items()
            if service.get("image", "").startswith("govshare")}
    assert ours
    for name, service in ours.items():
        settings = {variable for variable in service.get("environment", {})
                    if variable.startswith("GOVSHARE_") or variable in ALIASES}
        unknown = settings - known_variables()
        assert not unknown, f"{name} passes {unknown}, which no settings class reads"
        command = service.get("command", [])
        if command[:1] == ["serve"]:
            assert Component(command[1])


def test_the_image_runs_unprivileged_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile
    # Readiness, not /health: a database or broker outage, which every container shares, is
    # no reason to mark them all unhealthy and have the orchestrator restart them together.
    assert "/health/ready'" in dockerfile
    assert 'ENTRYPOINT ["govshare"]' in dockerfile
