"""The gateway's per-client token bucket."""

from __future__ import annotations

from shared.ratelimit import RateLimiter, retry_after_header


def test_a_burst_is_allowed_then_limited() -> None:
    limiter = RateLimiter(rate=1, burst=3)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a") > 0


def test_clients_have_separate_buckets() -> None:
    limiter = RateLimiter(rate=1, burst=1)
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("b") == 0.0
    assert limiter.acquire("a") > 0


def test_retry_after_is_whole_seconds_at_least_one() -> None:
    assert retry_after_header(0.01) == "1"
    assert retry_after_header(1.2) == "2"
