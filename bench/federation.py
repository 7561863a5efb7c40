"""Federation (F1): time from publication at Nanjing to visibility at the national node, two
hops up, beside the time to visibility in Nanjing's own search, measured in the same run.

Starts three whole nodes (`govshare up`, each with its own embedded PostgreSQL and broker),
links them, publishes N entries one after another at Nanjing and polls both searches.

    python -m bench.federation [--entries 60] [--base-port 28000]

Cross-node online query throughput needs F2 (cross-node data), not built yet.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from rich.console import Console

from bench.harness import percentile
from cli import federation_demo
from cli.demo_data import RESOURCES


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=60)
    parser.add_argument("--base-port", type=int, default=28000)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="govshare-bench-federation-"))
    nodes = federation_demo.network(workdir, args.base_port)
    national, _, nanjing = nodes
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
    print(json.dumps({"entries": args.entries, "results": report, "ratio_p50": ratio}))


if __name__ == "__main__":
    main()
