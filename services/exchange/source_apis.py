"""A provider's own API (系统对接): where it may be, and how the exchange calls it.

Never where it would make the exchange call into the node itself or the machine it runs on
(a request forged on the server's behalf). A node that lists the networks its departments'
systems live in allows those alone; one that lists none allows public addresses only,
whatever name leads there. The name is checked again at every call, and the call goes to
the address that was checked, so a name that changes its address after registration (DNS
rebinding) leads nowhere it may not. Only `{key}` may be filled into the URL.

The provider may give a credential (one header, such as an API key or a bearer token) that
the exchange presents; it is kept sealed (shared/sealing.py) and never shown again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.exceptions import SourceApiRefused, SourceUnavailable
from services.exchange.models import SourceApi
from shared import sealing
from shared.addresses import Address, Network, plain


async def check_source_url(url: str, allowed: Sequence[str]) -> Address:
    """Refuse `url` unless every address its host resolves to may be called; the first."""
    host = urlsplit(url).hostname
    if not host:
        raise SourceApiRefused("The URL names no host.", field="url_template")
    networks = [ipaddress.ip_network(network, strict=False) for network in allowed]
    addresses = await _addresses_of(host)
    for address in addresses:
        if not _may_call(address, networks):
            raise SourceApiRefused(
                f"{host} is {address}, where this node does not call a provider's API"
                + (" (allowed: " + ", ".join(allowed) + ")" if allowed else
                   " (with no networks listed, public addresses only)") + ".",
                field="url_template")
    return addresses[0]


def template_fields(url_template: str) -> set[str] | None:
    """The fields `url_template` fills in ({key} → "key"); None if it is no valid template."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(url_template)
                if field is not None}
    except ValueError:  # an unmatched brace
        return None


def credential_context(entry_code: str) -> str:
    """What a stored credential is sealed to: its entry's registration, nowhere else."""
    return f"exchange.source_api:{entry_code}"


@dataclass(frozen=True)
class SourceApiCall:
    """A registered API as the query path reads it: the sealed credential opens per call."""

    url_template: str
    entry_code: str
    credential_header: str | None = None
    sealed_credential: str | None = None


class SourceApiCaller:
    """Calls providers' own APIs for online queries."""

    def __init__(self, http: httpx.AsyncClient, allowed: Sequence[str]) -> None:
        self.http = http
        self.allowed = list(allowed)

    async def fetch(self, source: SourceApiCall, key_values: list[str]
                    ) -> dict[str, str] | None:
        """The provider's record for the key, None if it has none."""
        url = source.url_template.format(key=quote(",".join(key_values), safe=""))
        try:
            address = await check_source_url(url, self.allowed)
        except SourceApiRefused as refused:
            raise SourceUnavailable(f"The provider's system is not called: {refused.detail}") \
                from None
        headers, parts = {}, urlsplit(url)
        if source.credential_header and source.sealed_credential:
            try:
                headers[source.credential_header] = sealing.sealer().open(
                    source.sealed_credential, context=credential_context(source.entry_code))
            except sealing.SealingError as error:  # its KEK dropped too early, say
                raise SourceUnavailable("The credential for the provider's system does not "
                                        f"open on this node: {error}.") from error
        try:
            response = await self.http.get(_at(url, address), headers={
                **headers, "Host": parts.netloc.rpartition("@")[2]},
                extensions={"sni_hostname": parts.hostname})
        except httpx.HTTPError as error:
            raise SourceUnavailable(
                f"The provider's system failed: {type(error).__name__}.") from error
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise SourceUnavailable(f"The provider's system answered {response.status_code}.")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceUnavailable("The provider's system did not answer with a JSON object.")
        return {str(k): str(v) for k, v in body.items() if v is not None}


async def reseal_credentials(session: AsyncSession) -> int:
    """Seal under the current key-encryption key the credentials an older one sealed."""
    sealer = sealing.sealer()
    stored = [source for source in await session.scalars(
        select(SourceApi).where(SourceApi.credential.is_not(None)).with_for_update())
        if source.credential and sealer.needs_resealing(source.credential)]
    for source in stored:
        assert source.credential is not None
        source.credential = sealer.reseal(source.credential,
                                          context=credential_context(source.entry_code))
    return len(stored)


def _at(url: str, address: Address) -> str:
    """`url` sent to the checked address itself (the name stays in Host and TLS SNI)."""
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    port = f":{parts.port}" if parts.port else ""
    return parts._replace(netloc=f"{host}{port}").geturl()


def _may_call(address: Address, allowed: list[Network]) -> bool:
    address = plain(address)  # ::ffff:10.0.0.1 is 10.0.0.1
    if allowed:
        return any(address in network for network in allowed)
    # Nothing listed: the public internet alone. Private, shared (CGNAT), unique-local,
    # loopback, link-local and reserved addresses are where the node's own services live.
    return address.is_global and not address.is_multicast


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
