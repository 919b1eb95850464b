"""The outbox runner's rules, on an in-memory row and a fake marketplace that remembers what it
took: a request whose answer was lost is looked up before any resend, a definitive refusal needs
no look-up, a 429 never uses up attempts, a timeout waits out the in-flight horizon, a process is
followed until final, and whatever the faults, the marketplace takes a write at most once."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from adapters.errors import AdapterError, AuthError, RateLimited, Rejected, TimedOut, Transient
from plugin.sync import outbox
from plugin.sync.ports import ProcessResult

NOW = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
IN_FLIGHT = 120.0


class Marketplace:
    """Takes requests by reference; `faults` scripts what the next calls do instead of answering:
    "lost" takes the request and loses the answer (a timeout after the commit), "timeout" and
    "500" fail before taking it, "429" and "400" refuse it."""

    name = "fake"

    def __init__(self, faults=(), *, synchronous: bool = False, finals=("SUCCESS",)):
        self.taken: dict[str, str] = {}        # reference -> process id
        self.faults = list(faults)
        self.synchronous = synchronous
        self.finals = list(finals)
        self.calls: list[str] = []
        self.status_calls = 0

    def _fault(self, request) -> None:
        fault = self.faults.pop(0) if self.faults else None
        if fault == "lost":
            self._take(request)
            raise TimedOut("read timed out")
        if fault == "timeout":
            raise TimedOut("connect timed out")
        if fault == "500":
            raise Transient("500 Internal Server Error", status=500)
        if fault == "429":
            raise RateLimited("429", retry_after=3.0)
        if fault == "400":
            raise Rejected("400 bad request", status=400)

    def _take(self, request) -> ProcessResult:
        process_id = self.taken.setdefault(request, f"p{len(self.taken) + 1}")
        return ProcessResult(process_id, self.finals[0] if self.synchronous else "PENDING")

    def ship(self, request) -> ProcessResult:
        self.calls.append("send")
        self._fault(request)
        return self._take(request)

    def find(self, request) -> ProcessResult | None:
        self.calls.append("lookup")
        self._fault(request)
        process_id = self.taken.get(request)
        return ProcessResult(process_id, "PENDING") if process_id else None

    def process_status(self, process_id: str) -> ProcessResult:
        self.status_calls += 1
        if self.status_calls < 3:
            return ProcessResult(process_id, "PENDING")
        return ProcessResult(process_id, self.finals[0])


@dataclass
class Row:
    state: str = "pending"
    attempts: int = 0
    process_id: str | None = None
    sent_at: datetime | None = None
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    leased: bool = False
    events: list[str] = field(default_factory=list)


class MemoryWrite:
    """An outbox kind over one in-memory row, with the compare-and-set moves a store makes."""

    max_attempts = 4
    send_with, look_up_with = "ship", "find"

    def __init__(self, row: Row):
        self.row = row
        self.jobs: list[tuple[str, float]] = []

    def submitted(self, row_id, claimed, result, *, found):
        if self.row.state == "sending":
            self.row.state, self.row.process_id, self.row.leased = "submitted", result.process_id, False
            self.row.events.append("found" if found else "sent")

    def finish(self, row_id, result):
        if self.row.state not in ("submitted", "sending"):
            return "already finished"
        self.row.state = "success" if result.status == "SUCCESS" else "failed"
        self.row.leased = False
        return self.row.state

    def retry_later(self, row_id, error, at, delay, *, not_sent):
        if not_sent and self.row.state == "sending" and not self.row.process_id:
            self.row.state, self.row.sent_at = "pending", None
        self.row.next_attempt_at, self.row.last_error, self.row.leased = at, str(error), False

    def give_up(self, row_id, error, *, not_sent):
        if not_sent and self.row.state == "sending" and not self.row.process_id:
            self.row.sent_at = None
        self.row.state, self.row.last_error, self.row.leased = "failed", str(error), False
        return "error"

    def release(self, row_id, error=None):
        self.row.leased = False
        if error is not None:
            self.row.last_error = error

    def retry_job(self, row_id, delay):
        self.jobs.append(("retry", delay))

    def follow_job(self, row_id, delay):
        self.jobs.append(("follow", delay))


def attempt(kind: MemoryWrite, marketplace: Marketplace) -> str:
    """What a job does before it hands over to the runner: claim, commit `sending`."""
    row = kind.row
    assert row.state in ("pending", "sending") and not row.leased
    row.attempts += 1
    row.leased = True
    may_exist = row.state == "sending"
    if row.state == "pending":
        row.state, row.sent_at = "sending", NOW
    claimed = outbox.Claimed("ref-1", marketplace, row.attempts, may_exist)
    return outbox.send(kind, 1, claimed, clock=lambda: NOW, in_flight_seconds=IN_FLIGHT)


def follow(kind: MemoryWrite, marketplace: Marketplace, elapsed: float = 1.0) -> str:
    return outbox.follow(kind, 1, outbox.Following(marketplace, kind.row.process_id, elapsed))


def test_a_first_send_is_not_looked_up_and_is_followed_soon():
    kind, market = MemoryWrite(Row()), Marketplace()
    assert attempt(kind, market) == "submitted"
    assert market.calls == ["send"]
    assert kind.row.state == "submitted" and kind.row.process_id == "p1"
    assert kind.jobs == [("follow", outbox.FIRST_FOLLOW)]


def test_a_lost_answer_is_looked_up_before_any_resend_and_the_found_process_is_followed():
    kind, market = MemoryWrite(Row()), Marketplace(["lost"])
    assert attempt(kind, market) == "retry"
    assert kind.row.state == "sending"              # outcome unknown: not back to pending
    assert kind.jobs[-1][1] >= IN_FLIGHT            # nothing before the in-flight horizon
    assert kind.row.next_attempt_at >= NOW + timedelta(seconds=IN_FLIGHT)
    assert attempt(kind, market) == "submitted"
    assert market.calls == ["send", "lookup"]       # found: not sent again
    assert kind.row.events == ["found"] and len(market.taken) == 1


def test_a_look_up_that_finds_nothing_sends():
    kind, market = MemoryWrite(Row()), Marketplace(["timeout"])
    attempt(kind, market)
    assert attempt(kind, market) == "submitted"
    assert market.calls == ["send", "lookup", "send"]
    assert kind.row.events == ["sent"]


@pytest.mark.parametrize("refusal", ["429", "400"])
def test_a_definitive_refusal_leaves_nothing_to_look_up(refusal):
    kind, market = MemoryWrite(Row()), Marketplace([refusal])
    outcome = attempt(kind, market)
    if refusal == "429":
        assert outcome == "retry" and kind.row.state == "pending" and kind.row.sent_at is None
        assert 3.0 <= kind.jobs[-1][1] <= 4.5        # the server's Retry-After, jittered
        assert attempt(kind, market) == "submitted"
        assert market.calls == ["send", "send"]     # no look-up: the 429 took nothing
    else:
        assert outcome == "error" and kind.row.state == "failed" and kind.row.sent_at is None
        assert market.calls == ["send"]


def test_throttling_never_uses_up_attempts_but_failures_do():
    kind, market = MemoryWrite(Row()), Marketplace(["429"] * 10)
    for _ in range(10):
        assert attempt(kind, market) == "retry"
    assert attempt(kind, market) == "submitted"
    kind, market = MemoryWrite(Row()), Marketplace(["500"] * 10)
    outcomes = [attempt(kind, market) for _ in range(MemoryWrite.max_attempts)]
    assert outcomes == ["retry"] * (MemoryWrite.max_attempts - 1) + ["error"]
    assert kind.row.state == "failed" and "500" in kind.row.last_error


def test_a_failure_no_retry_fixes_gives_up_at_once():
    kind, market = MemoryWrite(Row(state="sending")), Marketplace()
    market.find = lambda request: (_ for _ in ()).throw(AuthError("401 unauthorized", status=401))
    assert attempt(kind, market) == "error"
    assert kind.row.state == "failed" and kind.jobs == []


def test_a_synchronous_marketplace_finishes_at_once_without_following():
    kind, market = MemoryWrite(Row()), Marketplace(synchronous=True)
    assert attempt(kind, market) == "success"
    assert kind.jobs == [] and market.status_calls == 0


def test_a_process_is_followed_until_final_less_often_the_longer_it_runs():
    kind, market = MemoryWrite(Row()), Marketplace(finals=("FAILURE",))
    attempt(kind, market)
    assert follow(kind, market, elapsed=1.0) == "pending"
    assert follow(kind, market, elapsed=200.0) == "pending"
    assert [delay for what, delay in kind.jobs if what == "follow"][1:] == [outbox.FIRST_FOLLOW, outbox.MAX_FOLLOW]
    assert follow(kind, market) == "failed"
    assert follow(kind, market) == "already finished"


def test_a_retryable_failure_to_ask_reads_as_pending_and_any_other_is_kept_and_raised():
    kind, market = MemoryWrite(Row()), Marketplace()
    attempt(kind, market)
    market.process_status = lambda process_id: (_ for _ in ()).throw(Transient("502"))
    assert follow(kind, market) == "pending"
    market.process_status = lambda process_id: (_ for _ in ()).throw(AuthError("403"))
    with pytest.raises(AdapterError):
        follow(kind, market)
    assert kind.row.last_error == "403" and not kind.row.leased and kind.row.state == "submitted"


@pytest.mark.parametrize("seed", range(300))
def test_whatever_the_faults_the_marketplace_takes_the_write_at_most_once(seed):
    rng = random.Random(seed)
    faults = [rng.choice([None, None, "lost", "timeout", "500", "429", "400"]) for _ in range(12)]
    kind, market = MemoryWrite(Row()), Marketplace(faults, synchronous=rng.random() < 0.3)
    for _ in range(40):
        if kind.row.state not in ("pending", "sending"):
            break
        attempt(kind, market)
    while kind.row.state == "submitted":
        follow(kind, market)
    assert len(market.taken) <= 1
    if kind.row.state == "success":
        assert len(market.taken) == 1
    else:   # given up; if the marketplace took it, the row still says it may exist (a Resend looks it up)
        assert kind.row.state == "failed"
        assert not market.taken or kind.row.process_id or kind.row.sent_at is not None


def test_the_store_refuses_a_move_the_rows_machine_does_not_allow_before_any_sql():
    from plugin.domain import IllegalTransition
    from plugin.sync import cancellations, push_shipment, returns
    with pytest.raises(IllegalTransition, match="shipment cannot go from success to pending"):
        push_shipment.ROWS.move(None, 1, ("success",), "pending")
    with pytest.raises(IllegalTransition):
        cancellations.ROWS.move(None, 1, ("refused",), "sending")
    with pytest.raises(IllegalTransition):
        returns.SHOP_ROWS.move(None, 1, ("done",), "sending")
