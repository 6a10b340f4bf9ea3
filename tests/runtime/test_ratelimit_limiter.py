"""The shared rate limiter on a fake clock: windows, header feedback, pauses."""

from __future__ import annotations

from email.utils import formatdate

import pytest

from leadkit.runtime.api import RateLimitPolicy, Window
from leadkit.runtime.learning import ServerReport, described
from leadkit.runtime.ratelimit import RateLimiter, Wait, next_slot
from leadkit.runtime.retry import server_delay

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


def test_a_report_reads_both_reset_meanings() -> None:
    delta = RateLimitPolicy(windows=(), reset_kind="delta-seconds")
    stamp = RateLimitPolicy(windows=(), reset_kind="unix-timestamp")
    headers = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "7", "X-RateLimit-Reset": "30"}
    assert ServerReport.read(headers, delta, WALL) == ServerReport(60, 7, 30.0)
    stamped = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(WALL) + 12)}
    assert ServerReport.read(stamped, stamp, WALL) == ServerReport(None, 0, pytest.approx(12.0))
    assert ServerReport.read({"X-RateLimit-Remaining": "7"}, delta, WALL).reset is None


@pytest.mark.parametrize("value", ["-1", "x", "nan", "NaN", "inf", "-inf", "1e400", "", "12.5"])
def test_a_value_that_cannot_be_right_is_left_out_of_the_report(value: str) -> None:
    policy = RateLimitPolicy(windows=())
    for header in ("Limit", "Remaining", "Reset"):
        headers = {
            "X-RateLimit-Limit": "60",
            "X-RateLimit-Remaining": "7",
            "X-RateLimit-Reset": "9",
        }
        headers[f"X-RateLimit-{header}"] = value
        report = ServerReport.read(headers, policy, WALL)
        expected = {"Limit": 60, "Remaining": 7, "Reset": 9.0}
        expected[header] = 12.5 if (value, header) == ("12.5", "Reset") else None  # type: ignore[assignment]
        assert (report.limit, report.remaining, report.reset) == tuple(expected.values())


def test_a_limit_of_zero_a_remaining_above_the_limit_and_a_reset_past_a_day_are_left_out() -> None:
    policy = RateLimitPolicy(windows=())
    zero = {"X-RateLimit-Limit": "0", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "5"}
    assert ServerReport.read(zero, policy, WALL) == ServerReport(None, 0, 5.0)
    above = {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "61", "X-RateLimit-Reset": "5"}
    assert ServerReport.read(above, policy, WALL) == ServerReport(60, None, 5.0)
    later = {"X-RateLimit-Reset": str(24 * 3600 + 1)}
    assert ServerReport.read(later, policy, WALL).reset is None


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


def test_reserved_slots_beyond_what_the_server_has_left_wait_for_the_reset() -> None:
    rl, clock = limiter()
    slots = []
    for step in range(4):  # t=100, 100.1, 100.2, 100.3
        clock.now = 100.0 + step / 10
        slots.append(rl.reserve())
    # the first is answered: one request left, reset in 5 s; three more were reserved
    rl.settle(slots[0], {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "5"})
    assert rl.delay_until(slots[1]) <= 0  # the one the server has room for goes
    for held in slots[2:]:
        wait = rl.wait(held)
        assert (wait.delay, wait.reason) == (5.0, "X-RateLimit-Remaining=1, reset in 5s")
        assert wait.kind == "budget"
    assert rl.reserve() == 105.3  # after the reset


def test_a_429_pause_still_holds_every_slot() -> None:
    rl, _ = limiter(Window(limit=1, seconds=1.0))
    slots = [rl.reserve() for _ in range(3)]
    rl.settle(slots[0], {"X-RateLimit-Remaining": "1", "X-RateLimit-Reset": "5"})
    rl.pause(2.0, "429 on POST /x")  # shorter, and for all: widens the running pause
    assert [rl.delay_until(s) for s in slots[1:]] == [5.0, 5.0]


def test_a_pause_holds_slots_already_reserved() -> None:
    rl, clock = limiter(Window(limit=10, seconds=1.0))
    waiting = rl.reserve()
    rl.pause(3.0, "429 on POST /x")
    assert rl.wait(waiting) == Wait(3.0, "pause", None, "429 on POST /x")
    rl.pause(1.0, "shorter")  # a shorter pause does not cut a longer one
    assert rl.wait(waiting).reason == "429 on POST /x"
    assert rl.reserve() == 103.0
    clock.now = 103.0
    assert rl.delay_until(waiting) <= 0


def test_slots_held_by_a_pause_count_when_they_go_out() -> None:
    rl, clock = limiter(Window(limit=100, seconds=60.0))
    for slot in [rl.reserve() for _ in range(100)]:  # a full window at t=100
        rl.settle(slot, None)
    queued = [rl.reserve() for _ in range(100)]  # the next window's slots, at t=160
    clock.now = 130.0
    rl.pause(60.0, "429")  # everyone held until t=190
    later = [rl.reserve() for _ in range(100)]
    sends = sorted(clock.now + max(rl.delay_until(s), 0) for s in queued + later)
    # no 60-second span holds more than the window's 100 sends
    assert all(sends[i + 100] - sends[i] >= 60.0 for i in range(len(sends) - 100))


def test_no_policy_means_no_pacing_but_pauses_still_hold() -> None:
    rl = RateLimiter(None)
    slots = [rl.reserve() for _ in range(50)]
    assert all(rl.delay_until(s) <= 0 for s in slots)
    rl.pause(60.0, "429")
    assert rl.delay_until(slots[0]) > 59


def test_a_reset_timestamp_is_read_on_the_servers_clock_when_its_date_says_ours_is_off() -> None:
    rl, clock = limiter(Window(limit=100, seconds=60.0), kind="unix-timestamp")
    slot = rl.reserve()
    ahead = clock.wall() + 3600  # the server's clock runs an hour ahead
    headers = {
        "Date": formatdate(ahead, usegmt=True),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(int(ahead) + 20),
    }
    assert rl.settle(slot, headers) is None  # not an hour-long window: 20 s on its clock
    assert rl.windows == (Window(limit=100, seconds=60.0),)
    assert rl.reserve() == pytest.approx(120.0, abs=1.0)


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


# --- learning the server's windows --------------------------------------------------------


def headers(limit: int | None, remaining: int, reset: float) -> dict[str, str]:
    said = {"X-RateLimit-Remaining": str(remaining), "X-RateLimit-Reset": f"{reset:g}"}
    return said if limit is None else {"X-RateLimit-Limit": str(limit), **said}


def test_a_reset_longer_than_the_window_is_adopted_and_paces_the_next_requests() -> None:
    rl, _ = limiter(Window(limit=2, seconds=10.0))
    first = rl.reserve()
    learned = rl.settle(first, headers(2, 1, 100))
    assert learned is not None
    assert (learned.previous, learned.window) == (Window(2, 10.0), Window(2, 100.0))
    assert learned.reason == "X-RateLimit-Reset in 100s"
    assert rl.windows == (Window(2, 100.0),)
    assert [rl.reserve(), rl.reserve()] == [100.0, 200.0]  # not 110: the window is 100 s


def test_a_limit_other_than_the_declared_one_is_adopted() -> None:
    rl, _ = limiter(Window(limit=60, seconds=60.0))
    learned = rl.settle(rl.reserve(), headers(180, 179, 59))
    assert learned is not None and learned.window == Window(180, 60.0)
    assert learned.reason == "X-RateLimit-Limit=180"
    assert rl.settle(rl.reserve(), headers(120, 118, 58)).window == Window(120, 60.0)  # type: ignore[union-attr]
    assert rl.settle(rl.reserve(), headers(600, 597, 57)) is None  # a looser budget: kept
    assert rl.windows == (Window(120, 60.0),)


def test_what_agrees_with_the_windows_teaches_nothing() -> None:
    rl, _ = limiter(Window(limit=100, seconds=60.0), Window(limit=1000, seconds=3600.0))
    assert rl.settle(rl.reserve(), headers(100, 99, 60)) is None
    assert rl.settle(rl.reserve(), headers(1000, 998, 3599)) is None
    assert rl.settle(rl.reserve(), headers(100, 97, 62)) is None  # within 5 %: rounding
    assert rl.settle(rl.reserve(), headers(None, 96, 30)) is None
    assert rl.windows == (Window(100, 60.0), Window(1000, 3600.0))


@pytest.mark.parametrize(
    ("limit", "reset", "index"),
    [
        (1000, 1800, 1),  # the hour
        (100, 40, 0),  # the minute
        (100, 1800, 0),  # the "minute" lasts at least half an hour
        (500, 30, 1),  # 500 is nearer 1,000 than 100
        (50, 30, 0),
        (None, 30, 0),  # no Limit: the shortest window that holds the Reset
        (None, 1800, 1),
        (None, 7200, 1),  # longer than every window: the longest
    ],
)
def test_which_window_a_response_describes(limit: int | None, reset: float, index: int) -> None:
    windows = (Window(100, 60.0), Window(1000, 3600.0))
    assert described(windows, limit, reset) == index


def test_a_remaining_the_limiters_count_cannot_explain_lengthens_the_window() -> None:
    rl, clock = limiter(Window(limit=4, seconds=10.0))
    for _ in range(4):  # four sends, 20 s apart: the declared window never holds two
        rl.settle(rl.reserve(), headers(4, 3, 10))
        clock.now += 20.0
    # the server still counts all four, and this one: its window reaches back 60 s and more
    slot = rl.reserve()
    learned = rl.settle(slot, headers(4, 0, 5))
    assert learned is not None
    # from the oldest send the server counts (t=120) to the reset (t=185)
    assert learned.window == Window(4, pytest.approx(65.0))
    assert "X-RateLimit-Remaining=0" in learned.reason


def test_a_remaining_explained_by_sends_the_log_does_not_hold_teaches_nothing() -> None:
    rl, _ = limiter(Window(limit=60, seconds=60.0))
    assert rl.settle(rl.reserve(), headers(60, 12, 50)) is None  # someone else used the key
    assert rl.windows == (Window(60, 60.0),)


def test_a_429s_delay_is_capped_at_the_windows_learned_not_the_declared_ones() -> None:
    rl, _ = limiter(Window(limit=60, seconds=60.0))
    refusal = headers(60, 0, 480)
    rl.settle(rl.reserve(), refusal)
    assert server_delay(refusal, "", rl.policy, WALL) == 480.0
    assert rl.horizon == 480.0


def test_without_windows_nothing_is_learned_but_the_budget_holds() -> None:
    rl, _ = limiter()
    assert rl.settle(rl.reserve(), headers(60, 0, 480)) is None
    assert rl.windows == ()
    assert rl.reserve() == 580.0


def test_a_wait_names_the_window_that_sets_its_slot() -> None:
    minute, hour = Window(limit=2, seconds=1.0), Window(limit=3, seconds=10.0)
    rl, _ = limiter(minute, hour)
    slots = [rl.reserve() for _ in range(5)]
    assert slots == [100.0, 100.0, 101.0, 110.0, 110.0]
    assert rl.wait(slots[0]).delay == 0.0  # goes at once
    assert (rl.wait(slots[2]).kind, rl.wait(slots[2]).window) == ("window", minute)
    assert rl.wait(slots[2]).delay == 1.0
    assert (rl.wait(slots[3]).kind, rl.wait(slots[3]).window) == ("window", hour)
    assert (rl.wait(slots[4]).kind, rl.wait(slots[4]).window) == ("window", hour)
    assert rl.wait(slots[3]).reason == "pacing to the window of 3 per 10s"


def test_a_wait_for_the_servers_budget_names_the_window_its_headers_describe() -> None:
    minute, hour = Window(limit=100, seconds=60.0), Window(limit=1000, seconds=3600.0)
    rl, _ = limiter(minute, hour)
    first = rl.reserve()
    report = {"X-RateLimit-Limit": "1000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "50"}
    rl.settle(first, report)  # the hour's budget is spent: it resets in 50 s
    held = rl.reserve()
    wait = rl.wait(held)
    assert (wait.kind, wait.window, wait.delay) == ("budget", hour, 50.0)
    assert "X-RateLimit-Remaining" in wait.reason


def test_a_budget_no_window_describes_is_a_budget_wait_without_a_window() -> None:
    rl, _ = limiter()
    rl.settle(rl.reserve(), {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "7"})
    wait = rl.wait(rl.reserve())
    assert (wait.kind, wait.window, wait.delay) == ("budget", None, 7.0)


def test_slots_held_for_a_spent_budget_wait_as_the_budget_with_its_window() -> None:
    minute = Window(limit=100, seconds=60.0)
    rl, _ = limiter(minute)
    slots = [rl.reserve() for _ in range(3)]
    headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "9"}
    rl.settle(slots[0], headers)  # two reserved, none left: both held until the reset
    for held in slots[1:]:
        wait = rl.wait(held)
        assert (wait.kind, wait.window, wait.delay) == ("budget", minute, 9.0)
    rl.pause(30.0, "429 on POST /x")  # the server asks for more: a pause, no window
    assert rl.wait(slots[1]) == Wait(30.0, "pause", None, "429 on POST /x")
