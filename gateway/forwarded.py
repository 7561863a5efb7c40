"""The caller's address, as the gateway tells it to the services (X-Forwarded-For).

The services trust that header (client allow-lists, the security trail: A7), so the gateway
never passes on what a caller wrote there: it sends the one address it determined itself.
That is the address the connection came from, unless it came from one of the proxies the
node is configured to trust (GOVSHARE_TRUSTED_PROXIES, e.g. the Ingress in front of the
gateway); then the header those proxies appended is read from the right, each trusted hop
skipped, and the first address they did not vouch for is the caller's. Anything left of that
was written by the caller, and is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import Scope

from shared.addresses import Address, Network, parse_address

FORWARDED_FOR = b"x-forwarded-for"


def client_address(scope: Scope, trusted_proxies: Sequence[Network]) -> str | None:
    """The caller's address; None if the server gives no peer (never on TCP)."""
    peer = parse_address((scope.get("client") or ("",))[0])
    if peer is None:
        return None
    nearest = peer
    for hop in reversed(_forwarded_hops(scope) if _trusted(peer, trusted_proxies) else []):
        address = parse_address(hop)
        if address is None:  # not an address: what a trusted proxy would never write
            break
        nearest = address
        if not _trusted(address, trusted_proxies):
            break
    return str(nearest)


def forwarded_for(scope: Scope, trusted_proxies: Sequence[Network]) -> list[tuple[bytes, bytes]]:
    """The X-Forwarded-For header a service is sent (none when there is no address)."""
    address = client_address(scope, trusted_proxies)
    return [(FORWARDED_FOR, address.encode())] if address else []


def _forwarded_hops(scope: Scope) -> list[str]:
    values = [value.decode("latin-1") for key, value in scope["headers"] if key == FORWARDED_FOR]
    return [hop.strip() for value in values for hop in value.split(",")]


def _trusted(address: Address, trusted_proxies: Sequence[Network]) -> bool:
    return any(address in network for network in trusted_proxies)

