"""`make bench`: figures measured side by side in one run, printed as tables with ratios.

Runs on the embedded topology (SQLite + Huey's SQLite queue) in a temporary directory, or on
PostgreSQL + Redis when BENCH_TOPOLOGY=prod and DATABASE_URL / REDIS_URL are set. The sandboxes
add network latency (BENCH_LATENCY_MS, default 20 ms) to every answer so the figures mean
something. Sizes: BENCH_ORDERS (propagation, default 100), BENCH_IMPORT (default 300).
"""

from __future__ import annotations

import os
import sys
import tempfile

_tmp = tempfile.mkdtemp(prefix="orderbridge-bench-")
os.environ["ORDERBRIDGE_VAR_DIR"] = _tmp
os.environ["ORDERBRIDGE_HUEY_NAME"] = f"orderbridge-bench-{os.getpid()}"
TOPOLOGY = os.environ.get("BENCH_TOPOLOGY", "embedded")
if TOPOLOGY != "prod":
    os.environ["DATABASE_URL"] = f"sqlite:///{_tmp}/bench.db"
    os.environ["ORDERBRIDGE_HUEY_PATH"] = f"{_tmp}/huey.db"
    os.environ.pop("REDIS_URL", None)
elif not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
    sys.exit("bench: BENCH_TOPOLOGY=prod needs DATABASE_URL and REDIS_URL")


def main() -> None:
    import logging
    logging.basicConfig(level=logging.ERROR)
    from bench.importing import run as run_import
    from bench.propagation import run as run_propagation
    latency = int(os.environ.get("BENCH_LATENCY_MS", "20"))
    print(f"orderbridge bench: topology {TOPOLOGY}, sandbox latency {latency} ms per answer, "
          f"{os.cpu_count()} cores", flush=True)
    run_propagation(orders=int(os.environ.get("BENCH_ORDERS", "100")), rate=float(os.environ.get("BENCH_RATE", "20")),
                    latency_ms=latency)
    run_import(orders=int(os.environ.get("BENCH_IMPORT", "300")), latency_ms=latency)


main()
