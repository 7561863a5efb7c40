"""The caller's address the gateway tells the services: never what the caller wrote."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import TypeAdapter, ValidationError

from gateway.forwarded import client_address
from shared.addresses import NetworkInput

INGRESS = [ipaddress.ip_network("10.42.0.0/16")]


def scope(peer: str, *forwarded: str) -> dict[str, object]:
    return {"client": (peer, 51234),
            "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address(scope("203.0.113.9", "10.20.1.1"), []) == "203.0.113.9"


def test_a_caller_outside_the_trusted_proxies_cannot_name_an_address() -> None:
    assert client_address(scope("203.0.113.9", "10.20.1.1"), INGRESS) == "203.0.113.9"


def test_behind_the_ingress_the_address_it_appended_counts() -> None:
    assert client_address(scope("10.42.0.7", "10.20.1.1, 198.51.100.4"),
                          INGRESS) == "198.51.100.4"


def test_trusted_hops_are_skipped_across_several_headers() -> None:
    assert client_address(scope("10.42.0.7", "198.51.100.4", "10.42.3.3"),
                          INGRESS) == "198.51.100.4"


def test_a_hop_that_is_no_address_stops_at_the_last_trusted_one() -> None:
    assert client_address(scope("10.42.0.7", "198.51.100.4, unknown"), INGRESS) == "10.42.0.7"


def test_an_ipv4_caller_on_a_dual_stack_socket_reads_as_ipv4() -> None:
    assert client_address(scope("::ffff:192.0.2.8"), []) == "192.0.2.8"


def test_no_peer_no_address() -> None:
    assert client_address({"headers": []}, []) is None


@pytest.mark.parametrize("written", [False, True, 0, 16909060, "x", "10.0.0.0/33"])
def test_a_network_is_only_what_is_written_as_one(written: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(NetworkInput).validate_python(written)
    assert str(TypeAdapter(NetworkInput).validate_python("10.32.0.0/16")) == "10.32.0.0/16"
    assert str(TypeAdapter(NetworkInput).validate_python("::ffff:10.0.0.1")) == (
        "::ffff:a00:1/128")
