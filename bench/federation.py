"""Federation, measured against the same thing on one node in the same run:
- F1, up: time from publication at Nanjing to visibility at the national node, two hops up,
  beside the time to visibility in Nanjing's own search;
- F6, down: time from publication at the national node to visibility in Nanjing's own
  search, two hops down, beside the time to visibility in the national node's own;
- F5: throughput of an online query a Nanjing department makes of national data through
  Jiangsu (three gateways, two hops), beside the same query a national department makes at
  the national node.

Issue 18's targets: the two-hop query at least half the local throughput; propagation
either way under 2 s at p99. Starts national, Jiangsu and Nanjing (`govshare up` each, with
its own embedded PostgreSQL and broker) and links them; all of them share this machine's
cores.

    python -m bench.federation [--entries 60] [--requests 2000] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.harness import measure, percentile, process_cpu_seconds
from cli import federation_demo
from cli.demo_data import RESOURCES
from cli.federation_demo import DemoNode


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=60)
    parser.add_argument("--base-port", type=int, default=28000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="govshare-bench-federation-"))
    nodes = federation_demo.network(workdir, args.base_port, extra_env={
        "GOVSHARE_RATE_LIMIT_PER_SECOND": "1000000", "GOVSHARE_RATE_LIMIT_BURST": "1000000"},
        regions=("100000", "320000", "320100"))
    national, _, nanjing = nodes
    failed = True
    try:
        federation_demo.start(nodes, Console(stderr=True).print)
        visible = {"up": propagation(nanjing, national, args.entries, "南京市基准测试资源"),
                   "down": propagation(national, nanjing, args.entries, "全国基准测试资源")}
        shared = federation_demo.share_across(national, nanjing)
        query = (f"/exchange/entries/{shared.code}/record?key={shared.key}"
                 "&purpose=data_verification")
        calls = {"local_national": (f"{national.gateway}/api{query}", shared.local_token),
                 "two_hop": (f"{nanjing.gateway}{shared.remote}{query}", shared.remote_token)}
        queries, cpu = {}, {}
        for name, (url, token) in calls.items():
            before = network_cpu(nodes)
            queries[name] = asyncio.run(measure(url, token, args.requests, args.concurrency))
            after = network_cpu(nodes)
            cpu[name] = {where: round(1000 * (after[where] - spent) / args.requests, 3)
                         for where, spent in before.items() if after[where] - spent > 0}
        failed = False
    finally:
        for node in reversed(nodes):
            node.down()
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}")
    report(args.entries, visible, queries, cpu)


def propagation(source: DemoNode, target: DemoNode, entries: int,
                prefix: str) -> dict[str, list[float]]:
    """Seconds from publishing each entry at `source` to finding it in the source's own
    search and in the target's, two hops away."""
    seconds: dict[str, list[float]] = {"own": [], "two_hops": []}
    template = RESOURCES["江苏省公安厅"][0]
    for index in range(entries):
        body = federation_demo.demo_entry(template, f"{prefix}{index}")
        published = time.monotonic()
        federation_demo.publish(source, body)
        for where, node in (("own", source), ("two_hops", target)):
            seconds[where].append(federation_demo.wait_visible(
                node, body["name"], since=published, poll=0.01)["seconds"])
    return seconds


def network_cpu(nodes: list[DemoNode]) -> dict[str, float]:
    """CPU seconds spent so far by each kind of process of each node."""
    spent: dict[str, float] = {}
    for node in nodes:
        assert node.process is not None
        for kind, seconds in process_cpu_seconds(node.process.pid, node.home).items():
            spent[f"{node.label} {kind}"] = seconds
    return spent


def per_node(spent: dict[str, float]) -> dict[str, float]:
    """CPU ms a query by node (every process of it, idle work included)."""
    nodes: dict[str, float] = {}
    for where, ms in spent.items():
        node = where.rsplit(" ", 1)[0]
        nodes[node] = nodes.get(node, 0.0) + ms
    return nodes


def report(entries: int, visible: dict[str, dict[str, list[float]]],
           queries: dict[str, dict[str, float]], cpu: dict[str, dict[str, float]]) -> None:
    figures = {f"{direction}_{where}": {
        "p50_s": round(percentile(sorted(values), 0.5), 3),
        "p99_s": round(percentile(sorted(values), 0.99), 3)}
        for direction, seconds in visible.items() for where, values in seconds.items()}
    print(f"{'visible':<22}{'p50 s':>8}{'p99 s':>8}")
    for name, row in figures.items():
        print(f"{name:<22}{row['p50_s']:>8.3f}{row['p99_s']:>8.3f}")
    print("(up: Nanjing → national; down: national → Nanjing; push every 0.2 s at each hop, "
          "polling every 10 ms; target p99 < 2 s)")
    print(f"{'online query':<22}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for name, result in queries.items():
        print(f"{name:<22}{result['rps']:>8.0f}{result['p50_ms']:>9.1f}"
              f"{result['p99_ms']:>9.1f}")
    print("CPU ms a query, by node and process (≥ 0.05 ms):")
    for name, spent in cpu.items():
        print(f"  {name}: {sum(spent.values()):.2f} ms in all; " + ", ".join(
            f"{where} {ms:.2f}" for where, ms in sorted(spent.items(), key=lambda item:
                                                         -item[1]) if ms >= 0.05))
    ratio = queries["two_hop"]["rps"] / queries["local_national"]["rps"]
    print(f"two-hop / local throughput: {ratio:.2f} (target ≥ 0.5)")
    busiest = {name: max(per_node(spent).values()) for name, spent in cpu.items()}
    print(f"as deployed, each node on machines of its own, the busiest node bounds the "
          f"throughput: {busiest['local_national']:.2f} ms a query locally, "
          f"{busiest['two_hop']:.2f} ms two hops away: "
          f"{busiest['local_national'] / busiest['two_hop']:.2f} (derived, not measured)")
    print(json.dumps({"entries": entries, "visible": figures, "queries": queries,
                      "cpu_ms_per_query": cpu, "throughput_ratio": ratio}))


if __name__ == "__main__":
    main()
