"""Gateway overhead: an authenticated call through the gateway vs the same endpoint direct.

Starts a throwaway node (embedded PostgreSQL and broker, the authorization service and the
gateway as real processes), makes a department system with a token, then measures
`GET /me` both ways, interleaved in rounds so both see the same machine noise.

    python -m bench.gateway [--requests 4000] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json

from bench.harness import bench_node, measure


async def benchmark(gateway: str, service: str, token: str, args: argparse.Namespace) -> None:
    runs: dict[str, list[dict[str, float]]] = {"direct": [], "gateway": []}
    await measure(f"{service}/me", token, 500, args.concurrency)  # warm-up
    await measure(f"{gateway}/api/authorization/me", token, 500, args.concurrency)
    for _ in range(args.rounds):
        runs["direct"].append(await measure(f"{service}/me", token, args.requests,
                                            args.concurrency))
        runs["gateway"].append(await measure(f"{gateway}/api/authorization/me", token,
                                             args.requests, args.concurrency))
    best = {name: max(results, key=lambda r: r["rps"]) for name, results in runs.items()}
    print(f"GET /me, {args.requests} requests x {args.rounds} rounds, concurrency "
          f"{args.concurrency} (best round of each)")
    print(f"{'path':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, result in best.items():
        print(f"{name:<10}{result['rps']:>10.0f}{result['p50_ms']:>10.2f}{result['p99_ms']:>10.2f}")
    ratio = best["gateway"]["rps"] / best["direct"]["rps"]
    added = best["gateway"]["p50_ms"] - best["direct"]["p50_ms"]
    print(f"gateway/direct throughput ratio: {ratio:.2f}; p50 added by the gateway: "
          f"{added:.2f} ms")
    print(json.dumps({"best": best, "throughput_ratio": round(ratio, 3)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with bench_node(["authorization"]) as node:
        asyncio.run(benchmark(node.gateway, node.services["authorization"], node.token, args))


if __name__ == "__main__":
    main()
