"""How `govshare up` answers a process that exits: again after a doubling pause, until it
has exited too often within the window."""

from __future__ import annotations

from cli.supervisor import RestartPolicy


def test_the_pause_doubles_with_each_exit_and_is_capped() -> None:
    policy = RestartPolicy()
    assert [policy.delay(exits) for exits in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]


def test_only_exits_within_the_window_count() -> None:
    policy = RestartPolicy(limit=5, window_seconds=60)
    assert policy.recent([0.0, 30.0, 61.0, 100.0], now=100.0) == [61.0, 100.0]
    assert not policy.gives_up(4) and policy.gives_up(5)
