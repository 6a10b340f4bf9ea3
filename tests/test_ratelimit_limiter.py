"""The shared rate limiter on a fake clock: windows, header feedback, pauses."""

from __future__ import annotations

import pytest

from leadkit.runtime.api import RateLimitPolicy, Window
from leadkit.runtime.ratelimit import RateLimiter, header_budget, next_slot

WALL = 1_750_000_000.0


class FakeClock:
    """Monotonic seconds that only move when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL + self.now


def limiter(*windows: Window, kind: str = "delta-seconds") -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    policy = RateLimitPolicy(windows=windows, reset_kind=kind)  # type: ignore[arg-type]
    return RateLimiter(policy, clock=clock, wall=clock.wall), clock


def test_next_slot_keeps_every_window_in_limit() -> None:
    windows = (Window(limit=2, seconds=10.0), Window(limit=3, seconds=60.0))
    assert next_slot([], windows, 5.0) == 5.0
    assert next_slot([1.0], windows, 5.0) == 5.0
    assert next_slot([1.0, 2.0], windows, 5.0) == 11.0  # the 10 s window is full
    assert next_slot([1.0, 2.0, 11.0], windows, 12.0) == 61.0  # the 60 s window is full


def test_slots_are_handed_out_in_order_across_all_windows() -> None:
    rl, _ = limiter(Window(limit=2, seconds=1.0), Window(limit=3, seconds=10.0))
    assert [rl.reserve() for _ in range(4)] == [100.0, 100.0, 101.0, 110.0]


def test_free_now_says_whether_slots_reserved_now_would_start_at_once() -> None:
    rl, clock = limiter(Window(limit=3, seconds=10.0))
    assert rl.free_now(3) and not rl.free_now(4)
    reserved = [rl.reserve() for _ in range(2)]
    assert reserved == [100.0, 100.0]
    assert rl.free_now(1) and not rl.free_now(2)
    assert [rl.reserve() for _ in range(2)] == [100.0, 110.0], "as free_now said"
    assert not rl.free_now(1), "a slot is reserved for later"
    clock.now = 110.0  # the three sent at 100 leave the window; the one at 110 is in it
    assert rl.free_now(2) and not rl.free_now(3)
    assert [rl.reserve() for _ in range(3)] == [110.0, 110.0, 120.0], "as free_now said"
    unpaced, _ = limiter()
    assert unpaced.free_now(1_000)
    unpaced.pause(5.0, "429")
    assert not unpaced.free_now(1)


def test_free_now_counts_the_servers_budget() -> None:
    rl, _ = limiter()
    rl.settle(rl.reserve(), {"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "30"})
    assert rl.free_now(2) and not rl.free_now(3)


def test_header_budget_reads_both_reset_meanings() -> None:
    delta = RateLimitPolicy(windows=(), reset_kind="delta-seconds")
    stamp = RateLimitPolicy(windows=(), reset_kind="unix-timestamp")
    headers = {"X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "30"}
    assert header_budget(headers, delta, WALL) == (7, 30.0)
    stamped = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(WALL) + 12)}
    assert header_budget(stamped, stamp, WALL) == (0, pytest.approx(12.0))
    assert header_budget({"X-RateLimit-Remaining": "7"}, delta, WALL) is None
    assert header_budget({"X-RateLimit-Remaining": "x", "X-RateLimit-Reset": "1"}, delta, 0) is None


def test_remaining_zero_sends_the_next_request_after_the_reset() -> None:
    rl, _ = limiter()
    slot = rl.reserve()
    rl.settle(slot, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "30"})
    assert rl.reserve() == 130.0


def test_the_server_budget_caps_slots_before_the_reset() -> None:
    rl, _ = limiter()
    slot = rl.reserve()
    rl.settle(slot, {"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "30"})
    assert [rl.reserve() for _ in range(3)] == [100.0, 100.0, 130.0]


def test_unix_timestamp_reset_is_relative_to_the_wall_clock() -> None:
    rl, clock = limiter(kind="unix-timestamp")
    slot = rl.reserve()
    reset = str(int(clock.wall()) + 20)
    rl.settle(slot, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    assert rl.reserve() == pytest.approx(120.0)


def test_more_reserved_slots_than_the_server_allows_pause_everyone() -> None:
    rl, _ = limiter()
    slots = [rl.reserve() for _ in range(4)]
    rl.settle(slots[0], {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "5"})
    delay, reason = rl.delay_until(slots[1])
    assert delay == 5.0
    assert "X-RateLimit-Remaining=1" in reason


def test_a_pause_holds_slots_already_reserved() -> None:
    rl, clock = limiter(Window(limit=10, seconds=1.0))
    waiting = rl.reserve()
    rl.pause(3.0, "429 on POST /x")
    assert rl.delay_until(waiting) == (3.0, "429 on POST /x")
    rl.pause(1.0, "shorter")  # a shorter pause does not cut a longer one
    assert rl.delay_until(waiting)[1] == "429 on POST /x"
    assert rl.reserve() == 103.0
    clock.now = 103.0
    assert rl.delay_until(waiting)[0] <= 0


def test_slots_held_by_a_pause_count_when_they_go_out() -> None:
    rl, clock = limiter(Window(limit=100, seconds=60.0))
    for slot in [rl.reserve() for _ in range(100)]:  # a full window at t=100
        rl.settle(slot, None)
    queued = [rl.reserve() for _ in range(100)]  # the next window's slots, at t=160
    clock.now = 130.0
    rl.pause(60.0, "429")  # everyone held until t=190
    later = [rl.reserve() for _ in range(100)]
    sends = sorted(clock.now + max(rl.delay_until(s)[0], 0) for s in queued + later)
    # no 60-second span holds more than the window's 100 sends
    assert all(sends[i + 100] - sends[i] >= 60.0 for i in range(len(sends) - 100))


def test_no_policy_means_no_pacing_but_pauses_still_hold() -> None:
    rl = RateLimiter(None)
    slots = [rl.reserve() for _ in range(50)]
    assert all(rl.delay_until(s)[0] <= 0 for s in slots)
    rl.pause(60.0, "429")
    assert rl.delay_until(slots[0])[0] > 59


def test_a_reset_beyond_the_longest_window_is_capped() -> None:
    rl, clock = limiter(Window(limit=100, seconds=60.0), kind="unix-timestamp")
    slot = rl.reserve()
    skewed = str(int(clock.wall()) + 3600)  # the server's clock runs an hour ahead
    rl.settle(slot, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": skewed})
    assert rl.reserve() == pytest.approx(160.0)


def test_a_cancelled_reservation_gives_its_place_back() -> None:
    rl, _ = limiter(Window(limit=2, seconds=2.0))
    for slot in [rl.reserve(), rl.reserve()]:  # the window's two sends, at t=100
        rl.settle(slot, None)
    for slot in [rl.reserve() for _ in range(10)]:  # callers that give up waiting
        rl.cancel(slot)
    assert rl.reserve() == 102.0  # as if they had never asked, not 12 s later


def test_a_reservation_cancelled_after_a_pause_moved_it_gives_its_place_back() -> None:
    rl, clock = limiter(Window(limit=1, seconds=10.0))
    rl.settle(rl.reserve(), None)  # sent at t=100
    waiting = rl.reserve()  # the window's next send: t=110
    rl.pause(30.0, "429 on POST /x")  # moves the waiting slot to t=130
    rl.cancel(waiting)  # its caller gives up
    clock.now = 131.0
    assert rl.reserve() == 131.0  # not t=140, as if the moved slot had been sent


def test_a_cancelled_reservation_returns_the_servers_budget() -> None:
    rl, _ = limiter(Window(limit=100, seconds=60.0))
    first = rl.reserve()
    rl.settle(first, {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "30"})
    rl.cancel(rl.reserve())  # took the last request the server has left, then gave it up
    assert rl.reserve() == 100.0  # still there to take
    assert rl.reserve() == 130.0  # the budget is spent: after the reset
