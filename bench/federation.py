"""Federation, measured against the same thing on one node in the same run:
- F1: time from publication at Nanjing to visibility at the national node, two hops up,
  beside the time to visibility in Nanjing's own search;
- F2: throughput of an online query a Nanjing department makes of Jiangsu data through both
  gateways, beside the same query a Jiangsu department makes at Jiangsu.

Starts three whole nodes (`govshare up`, each with its own embedded PostgreSQL and broker)
and links them; all of them share this machine's cores.

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

from bench.harness import measure, percentile
from cli import federation_demo
from cli.demo_data import RESOURCES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=60)
    parser.add_argument("--base-port", type=int, default=28000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="govshare-bench-federation-"))
    nodes = federation_demo.network(workdir, args.base_port, extra_env={
        "GOVSHARE_RATE_LIMIT_PER_SECOND": "1000000", "GOVSHARE_RATE_LIMIT_BURST": "1000000"})
    national, jiangsu, nanjing = nodes
    failed = True
    try:
        federation_demo.start(nodes, Console(stderr=True).print)
        local, national_seconds = [], []
        template = RESOURCES["江苏省公安厅"][0]
        for index in range(args.entries):
            body = federation_demo.demo_entry(template, f"南京市基准测试资源{index}")
            published = time.monotonic()
            federation_demo.publish(nanjing, body)
            local.append(federation_demo.wait_visible(
                nanjing, body["name"], since=published, poll=0.01)["seconds"])
            national_seconds.append(federation_demo.wait_visible(
                national, body["name"], since=published, poll=0.01)["seconds"])
        shared = federation_demo.share_across(nodes)
        query = (f"/exchange/entries/{shared.code}/record?key={shared.key}"
                 "&purpose=data_verification")
        queries = {
            "one_node": asyncio.run(measure(f"{jiangsu.gateway}/api{query}",
                                            shared.local_token, args.requests,
                                            args.concurrency)),
            "cross_node": asyncio.run(measure(
                f"{nanjing.gateway}{federation_demo.REMOTE}{query}", shared.remote_token,
                args.requests, args.concurrency)),
        }
        failed = False
    finally:
        for node in reversed(nodes):
            node.down()
        if not failed:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"logs kept in {workdir}")
    report = {name: {"p50_s": round(percentile(sorted(values), 0.5), 3),
                     "p99_s": round(percentile(sorted(values), 0.99), 3)}
              for name, values in (("nanjing_local", local), ("national", national_seconds))}
    print(f"{'visible at':<16}{'p50 s':>8}{'p99 s':>8}")
    for name, figures in report.items():
        print(f"{name:<16}{figures['p50_s']:>8.3f}{figures['p99_s']:>8.3f}")
    ratio = report["national"]["p50_s"] / max(report["nanjing_local"]["p50_s"], 1e-6)
    print(f"national / local p50: {ratio:.1f}x over two hops "
          "(push every 0.2 s at each hop, polling every 10 ms)")
    print(f"{'online query':<16}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for name, result in queries.items():
        print(f"{name:<16}{result['rps']:>8.0f}{result['p50_ms']:>9.1f}{result['p99_ms']:>9.1f}")
    throughput = queries["cross_node"]["rps"] / queries["one_node"]["rps"]
    print(f"cross-node / one-node throughput: {throughput:.2f}")
    print(json.dumps({"entries": args.entries, "results": report, "ratio_p50": ratio,
                      "queries": queries, "throughput_ratio": throughput}))


if __name__ == "__main__":
    main()
