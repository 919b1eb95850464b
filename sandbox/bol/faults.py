"""Fault-injection settings, changeable at runtime through PUT /_sandbox/faults."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class Faults:
    latency_ms: int = 0                  # sleep this long before answering every API call
    error_rate: float = 0.0              # fraction of API calls answered 500 or 503 (not processed)
    timeout_rate: float = 0.0            # fraction of API calls that sleep `timeout_sleep` first
    timeout_sleep: float = 30.0          # long enough for any sane client timeout to fire
    rate_limit_burst: int = 0            # answer the next N API calls with 429
    rate_limit_retry_after: int = 1      # Retry-After (s) sent with those forced 429s
    fail_after_commit_next: int = 0      # the next N shipment POSTs take effect, then answer 500
    garble_after_commit_next: int = 0    # ... take effect, then answer 202 with a body that is no
                                         # process status (a JSON array, as a broken proxy might)
    # The same "took effect, answer lost (500)" for the other writes, each with its own counter so
    # a test aims at exactly one kind of call:
    cancellation_fail_after_commit_next: int = 0   # PUT /retailer/orders/cancellation
    return_fail_after_commit_next: int = 0         # PUT /retailer/returns/{rma-id}
    offer_fail_after_commit_next: int = 0          # PATCH /retailer/offers/{offer-id} (stock applied)

    def to_dict(self) -> dict:
        return asdict(self)

    def update(self, changes: dict) -> None:
        """Apply a partial update; raises ValueError naming the bad field (all-or-nothing)."""
        types = {f.name: f.type for f in fields(self)}
        staged = {}
        for key, value in changes.items():
            if key not in types:
                raise ValueError(f"unknown fault setting: {key}")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number")
            if value < 0:
                raise ValueError(f"{key} must be >= 0")
            if key in ("error_rate", "timeout_rate") and value > 1:
                raise ValueError(f"{key} must be between 0 and 1")
            staged[key] = int(value) if types[key] == "int" else float(value)
        for key, value in staged.items():
            setattr(self, key, value)
