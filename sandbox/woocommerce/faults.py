"""Fault injection: what a shop behind a busy host, a CDN or a flaky PHP worker does to callers.

Applied to the REST API only (never to /_sandbox/ control endpoints), before authentication,
the way a proxy or a crashing PHP process would. Decisions use the state's seeded Random so a
run with the same seed and the same calls injects the same faults.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class FaultConfig:
    latency_ms: int = 0               # added to every REST answer
    error_rate: float = 0.0           # fraction of REST calls answered 500/503 without doing anything
    timeout_rate: float = 0.0         # fraction of REST calls that sleep `timeout_sleep` s, then run
    timeout_sleep: float = 2.0
    rate_limit: int = 0               # the next N REST calls answer 429
    rate_limit_writes: int = 0        # the next N REST writes (not GET/HEAD/OPTIONS) answer 429
    retry_after: int = 1              # Retry-After (seconds) sent with those 429s
    fail_after_commit_next: int = 0   # the next N POST /orders create the order, then answer 500
    # The same lost answer for other writes: the change is committed (webhooks queued), the
    # caller gets WordPress' critical-error 500 and never sees the result.
    update_fail_after_commit_next: int = 0   # PUT/PATCH/POST /orders/<id>
    refund_fail_after_commit_next: int = 0   # POST /orders/<id>/refunds
    note_fail_after_commit_next: int = 0     # POST /orders/<id>/notes
    # Delivery side (Action Scheduler and the network between the shop and the receiver).
    delivery_delay_ms: int = 0        # how long a queued delivery waits before it is sent
    redeliver_rate: float = 0.0       # fraction of deliveries sent twice with the same delivery id
    reorder: bool = False             # take the next delivery from the first few queued, at random

    def to_dict(self) -> dict:
        return asdict(self)

    def update(self, changes: dict) -> None:
        """Apply a partial update; raises ValueError naming the bad key, leaving self unchanged."""
        known = {f.name: f.type for f in fields(self)}
        staged = {}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown fault setting: {key}")
            current = getattr(self, key)
            try:
                if isinstance(current, bool):
                    if not isinstance(value, bool):
                        raise TypeError
                    staged[key] = value
                elif isinstance(current, int):
                    staged[key] = int(value)
                else:
                    staged[key] = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"bad value for {key}: {value!r}") from None
            if staged[key] < 0 or (key.endswith("_rate") and staged[key] > 1):
                raise ValueError(f"out of range for {key}: {value!r}")
        for key, value in staged.items():
            setattr(self, key, value)
