"""3. Idle cost: CPU time of the Huey consumer processes per poll of a connection with nothing new.

After the import and the propagation every connection's open orders are all known (bol.com
still lists the ones not shipped, ~half of them; a poll reads that list, finds nothing new,
checks the known ones for buyers' cancellation requests and moves its cursor). First the
consumers' CPU is measured while nothing is asked of them (the heartbeat and the queue polling of
an idle consumer), then `rounds` rounds of one poll per connection; the idle rate times the
elapsed time is subtracted. CPU = psutil user + system of every consumer process; the
database server's CPU (PostgreSQL, Redis) is not in it, SQLite's is (it runs in the consumer).
Capacity: connections one consumer serves per 5-minute cycle at 50 % of one core =
0.5 * 300 s / CPU per poll."""

from __future__ import annotations

import time
from datetime import timedelta

import psutil

from bench.system import System, wait_for


def cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            t = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        total += t.user + t.system
    return total


def run(system: System, rounds: int, idle_seconds: float) -> dict:
    pids = system.pids("worker")
    # the propagation's shipments followed to SUCCESS first: nothing else runs while we measure
    wait_for(lambda: system.open_shipments() == 0, timeout=300, interval=0.5, what="shipments to settle")
    time.sleep(2.0)
    c0, t0 = cpu(pids), time.perf_counter()
    time.sleep(idle_seconds)
    idle_rate = (cpu(pids) - c0) / (time.perf_counter() - t0)

    n = len(system.connection_ids)
    c1, t1 = cpu(pids), time.perf_counter()
    for _ in range(rounds):
        since = system.ctx.clock() - timedelta(milliseconds=1)
        for conn_id in system.connection_ids:
            system.ctx.queue.poll_connection(conn_id)
        wait_for(lambda s=since: system.polls_done_since(s) >= n, timeout=300, interval=0.05,
                 what="a round of polls")
    elapsed = time.perf_counter() - t1
    raw = cpu(pids) - c1
    polls = rounds * n
    net = max(raw - idle_rate * elapsed, 1e-9)
    per_poll = net / polls
    return {"polls": polls, "elapsed": elapsed, "raw_per_poll": raw / polls, "idle_rate": idle_rate,
            "per_poll": per_poll, "capacity": 0.5 * 300 / per_poll, "consumers": len(pids)}
