"""A provider's own API may not be registered where the exchange would call into the node
or the machine it runs on."""

from __future__ import annotations

import pytest

from services.exchange.exceptions import SourceApiRefused
from services.exchange.source_apis import check_source_url


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/api/persons/{key}",       # the node's own gateway
    "http://localhost/persons/{key}",                 # the same, by name
    "http://[::1]/persons/{key}",
    "http://169.254.169.254/latest/meta-data/{key}",  # a cloud's metadata service
    "http://0.0.0.0/persons/{key}",
])
async def test_the_machine_itself_is_refused_when_no_networks_are_listed(url: str) -> None:
    with pytest.raises(SourceApiRefused) as refused:
        await check_source_url(url, [])
    assert refused.value.extensions["field"] == "url_template"


async def test_with_no_networks_listed_private_and_shared_addresses_are_refused() -> None:
    """Where the node's own services live too (a cluster's addresses, say)."""
    for inward in ("http://10.96.0.10:8000/internal/grants/{key}", "http://172.17.0.1/{key}",
                   "http://[fd00::1]/{key}", "http://100.64.1.1/{key}",
                   "http://[::ffff:10.0.0.1]/{key}"):
        with pytest.raises(SourceApiRefused, match="public addresses only"):
            await check_source_url(inward, [])
    await check_source_url("http://8.8.8.8/api/persons/{key}", [])


async def test_a_node_that_lists_networks_allows_those_alone() -> None:
    allowed = ["10.32.0.0/16"]
    await check_source_url("http://10.32.1.7/api/persons/{key}", allowed)
    for elsewhere in ("http://10.33.0.1/{key}", "http://192.168.1.1/{key}"):
        with pytest.raises(SourceApiRefused, match=r"allowed: 10\.32\.0\.0/16"):
            await check_source_url(elsewhere, allowed)


async def test_a_host_that_cannot_be_resolved_is_refused() -> None:
    with pytest.raises(SourceApiRefused, match="cannot be resolved"):
        await check_source_url("http://no-such-host.invalid/{key}", [])
