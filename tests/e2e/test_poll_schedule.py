"""Polls start on time: the heartbeat ticks once a minute (with jitter), and a poll due a moment
after one tick used to wait for the next one: half the 1-minute polls came a minute late, a
5-minute poll became 6. Driven with a fake clock at jittered tick times; each poll's start is
when the job the heartbeat enqueued starts (now + its delay)."""

from __future__ import annotations

import dataclasses
import random
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from plugin.store import models
from plugin.sync.dispatch import dispatch

pytestmark = pytest.mark.e2e

ON_TIME = timedelta(seconds=3)
PERIODIC = ("poll_connection", "poll_shop", "reconcile_stock", "poll_returns")


class StartTimes:
    """An Enqueuer that runs nothing and keeps when each periodic job would start."""

    def __init__(self, clock) -> None:
        self.clock = clock
        self.starts: dict[str, list] = {name: [] for name in PERIODIC}

    def backlog(self) -> int:
        return 0

    def __getattr__(self, name):
        if name in PERIODIC:
            return lambda _id, delay=0: self.starts[name].append(self.clock() + timedelta(seconds=delay))
        return lambda *args, **kwargs: None      # the sweeps' jobs: not what this measures


def _heartbeats(stack, ticks):
    """Every tick's dispatch, with the clock at that tick; the start times of what they enqueued."""
    at = {"now": ticks[0]}
    queue = StartTimes(lambda: at["now"])
    ctx = dataclasses.replace(stack.ctx, clock=lambda: at["now"], queue=queue)
    for tick in ticks:
        at["now"] = tick
        dispatch(ctx)
    return queue.starts


def _assert_on_grid(starts, first, interval, until):
    """The k-th start is at first + k·interval (within seconds), and none due before `until` is missing."""
    expected = [first + k * interval for k in range(int((until - first) / interval) + 1)]
    late = [(e, s) for e, s in zip(expected, starts, strict=False) if abs(s - e) > ON_TIME]
    assert not late, f"{len(late)} of {len(expected)} started off their due time, e.g. {late[:2]}"
    assert len(starts) >= len(expected), f"{len(starts)} polls, {len(expected)} were due"
    assert len(starts) <= len(expected) + 2       # claimed ahead by at most the next tick's


def test_polls_start_within_seconds_of_their_due_time_under_jittered_ticks(stack):
    stack.connect(poll_seconds=60, settings={"shop_poll_seconds": 300, "stock_sync": True,
                                             "stock_reconcile_seconds": 300, "returns_poll_seconds": 60})
    t0 = stack.ctx.clock()
    firsts = {"poll_connection": t0 + timedelta(seconds=30.5), "poll_shop": t0 + timedelta(seconds=61),
              "reconcile_stock": t0 + timedelta(seconds=119.5), "poll_returns": t0 + timedelta(seconds=60.5)}
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(next_poll_at=firsts["poll_connection"],
                                                   stock_reconcile_at=firsts["reconcile_stock"],
                                                   returns_poll_at=firsts["poll_returns"]))
        s.execute(update(models.Shop).values(next_poll_at=firsts["poll_shop"]))
    jitter = random.Random(7)
    ticks = [t0 + timedelta(seconds=60 * k + jitter.uniform(-1, 1)) for k in range(0, 121)]   # two hours
    starts = _heartbeats(stack, ticks)
    intervals = {"poll_connection": 60, "poll_shop": 300, "reconcile_stock": 300, "poll_returns": 60}
    for name, interval in intervals.items():
        _assert_on_grid(sorted(starts[name]), firsts[name], timedelta(seconds=interval), ticks[-1])


def test_a_poll_missed_for_long_runs_once_now_then_on_its_interval(stack):
    """The system was down for hours: one poll now, not a burst of the missed ones."""
    stack.connect(poll_seconds=60)
    t0 = stack.ctx.clock()
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(next_poll_at=t0 - timedelta(hours=3)))
    ticks = [t0 + timedelta(seconds=60 * k + 0.4 * (-1) ** k) for k in range(0, 10)]
    starts = sorted(_heartbeats(stack, ticks)["poll_connection"])
    assert starts[0] == ticks[0] and starts[1] - starts[0] == timedelta(seconds=60)
    _assert_on_grid(starts, ticks[0], timedelta(seconds=60), ticks[-1])


def test_two_heartbeats_at_once_enqueue_each_poll_once(stack):
    """Several consumers run the heartbeat: the compare-and-set claim lets one of them win."""
    stack.connect(poll_seconds=60, settings={"returns_poll_seconds": 60})
    t0 = stack.ctx.clock()
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(next_poll_at=t0 + timedelta(seconds=20),
                                                   returns_poll_at=t0 + timedelta(seconds=50)))
    queue = StartTimes(lambda: t0)
    ctx = dataclasses.replace(stack.ctx, clock=lambda: t0, queue=queue)
    dispatch(ctx)
    dispatch(ctx)
    assert queue.starts["poll_connection"] == [t0 + timedelta(seconds=20)]
    assert queue.starts["poll_returns"] == [t0 + timedelta(seconds=50)]


def test_polls_start_on_time_on_the_real_queue(stack):
    """The same on the real queue and worker, in real time: a heartbeat every 10 s and a 10 s
    interval, the first poll due 3.5 s after a tick (today it waited 6.5 s for the next tick)."""
    import time

    stack.connect(poll_seconds=10)
    stream = f"connection:{stack.connection_id}:orders"

    def started():
        with stack.ctx.db.session() as s:
            return s.scalar(select(models.PollCursor.cursor_at).where(models.PollCursor.stream == stream))

    first = stack.ctx.clock() + timedelta(seconds=3.5)
    with stack.ctx.db.session() as s:
        s.execute(update(models.Connection).values(next_poll_at=first))
    begin = time.monotonic()
    ticks = [begin + 10 * k for k in range(3)]
    starts: list = []
    while time.monotonic() < begin + 25:            # three heartbeats; when each poll started
        if ticks and time.monotonic() >= ticks[0]:
            ticks.pop(0)
            dispatch(stack.ctx, tick_seconds=10)
        at = started()
        if at is not None and at not in starts:
            starts.append(at)
        time.sleep(0.05)
    assert len(starts) >= 2, f"{len(starts)} polls in 25 s"
    for k, at in enumerate(starts[:2]):
        due = first + timedelta(seconds=10 * k)
        assert abs(at - due) <= ON_TIME, f"poll {k + 1} started {(at - due).total_seconds():+.1f} s from its due time"
