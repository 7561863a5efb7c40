"""Which paths the gateway takes as normal."""

from __future__ import annotations

import pytest

from gateway.paths import is_normal


@pytest.mark.parametrize("path", [
    "/", "/api/catalog/entries/101001/000001", "/api/catalog/search", "/open-data/catalog.jsonld",
    "/api/catalog/entries/%E6%88%B7%E7%B1%8D", "/a..b/c.d/...x", "/api/x/.well-known",
    "/api/catalog/entries/101001%2F000001",
])
def test_a_normal_path_passes(path: str) -> None:
    assert is_normal(path)


@pytest.mark.parametrize("path", [
    "/api/x/../internal", "/api/x/./internal", "/api/x/%2e%2e/internal", "/api/x/.%2E/y",
    "/api/x%2F..%2Finternal", "/api/x%5c..", "/api\\x", "/..", "/api/x/..", "/api/x/%2e",
])
def test_a_path_a_later_hop_would_resolve_is_not(path: str) -> None:
    assert not is_normal(path)
