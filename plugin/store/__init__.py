"""Persistence: tables, the database handle, secret encryption. Idempotency lives here:
unique bindings and compare-and-set state transitions, not callers' good manners."""
