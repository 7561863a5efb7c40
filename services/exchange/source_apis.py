"""Where a provider's own API (系统对接) may be: never where it would make the exchange call
into the node itself or the machine it runs on (a request forged on the server's behalf).

A node that lists the networks its departments' systems live in allows those alone; one
that lists none refuses the loopback, link-local, unspecified, multicast and reserved
addresses, whatever name leads there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

from services.exchange.exceptions import SourceApiRefused

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


async def check_source_url(url: str, allowed: Sequence[str]) -> None:
    """Refuse `url` unless every address its host resolves to may be called."""
    host = urlsplit(url).hostname
    if not host:
        raise SourceApiRefused("The URL names no host.", field="url_template")
    networks = [ipaddress.ip_network(network, strict=False) for network in allowed]
    for address in await _addresses_of(host):
        if not _may_call(address, networks):
            raise SourceApiRefused(
                f"{host} is {address}, where this node does not call a provider's API"
                + (" (allowed: " + ", ".join(allowed) + ")" if allowed else
                   " (loopback, link-local or reserved)") + ".", field="url_template")


def _may_call(address: Address, allowed: list[Network]) -> bool:
    if allowed:
        return any(address in network for network in allowed)
    return not (address.is_loopback or address.is_link_local or address.is_unspecified
                or address.is_multicast or address.is_reserved)


async def _addresses_of(host: str) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None,
                                                             type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise SourceApiRefused(f"{host} cannot be resolved from this node.",
                               field="url_template") from error
    return [ipaddress.ip_address(info[4][0]) for info in found]
