"""Network addresses as the node compares them, and the caller's as the gateway told it."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import BeforeValidator, IPvAnyNetwork, WithJsonSchema
from starlette.requests import Request

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
FORWARDED_FOR = "x-forwarded-for"
# Roughly an IPv4 or IPv6 address, with or without a prefix length: what the document shows
# a network's shape as; the address module judges whether it is one.
NETWORK_PATTERN = r"^[0-9A-Fa-f:.]{2,45}(/[0-9]{1,3})?$"


def _written(value: Any) -> Any:
    if not isinstance(value, str | ipaddress.IPv4Network | ipaddress.IPv6Network):
        # pydantic's network type reads false as 0.0.0.0/32 and 16909060 as 1.2.3.4/32.
        raise ValueError("a network is written as text, e.g. 10.32.0.0/16 or 2001:db8::/32")
    return value


NetworkInput = Annotated[
    IPvAnyNetwork, BeforeValidator(_written),
    WithJsonSchema({"type": "string", "pattern": NETWORK_PATTERN,
                    "examples": ["10.32.0.0/16"]}),
]
"""A network (CIDR) or one address, as a caller writes it: text only."""


def parse_address(text: str) -> Address | None:
    """The address `text` names, None if it names none. A dual-stack socket shows an IPv4
    peer as ::ffff:a.b.c.d while networks and allow-lists name a.b.c.d, so that is returned."""
    try:
        return plain(ipaddress.ip_address(text))
    except ValueError:
        return None


def plain(address: Address) -> Address:
    """An IPv4-mapped IPv6 address as the IPv4 address it maps; any other as it is."""
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def caller_address(request: Request) -> str | None:
    """The caller's address as the gateway determined it (the one X-Forwarded-For it sends,
    never what a caller wrote: gateway/forwarded.py); the peer's for a call not through it."""
    forwarded = request.headers.get(FORWARDED_FOR, "").rpartition(",")[2].strip()
    for candidate in (forwarded, request.client.host if request.client else ""):
        address = parse_address(candidate)
        if address is not None:
            return str(address)
    return None
