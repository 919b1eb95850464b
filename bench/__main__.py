"""`make bench`: every speed and memory figure on both topologies, measured side by side in one run.

    make bench                       # full size: 100 shops, 10,000 orders (~15-20 min on 2 cores)
    BENCH_SIZE=small make bench      # 10 shops, 600 orders: a quick run while developing

Topologies (plugin/demo/topology.py): `embedded` (SQLite + Huey's SQLite queue, one web and one
worker process) always; `prod` (PostgreSQL + Redis, gunicorn with 2 workers, 2 Huey consumers)
when DATABASE_URL and REDIS_URL are set, or else when PostgreSQL (postgres@127.0.0.1:5432) and
Redis (127.0.0.1:6379) answer on this machine: then a database `orderbridge_bench_<pid>` is created
for the run and dropped after it. BENCH_TOPOLOGIES=embedded (or prod) runs one only.

Latency: BENCH_LATENCY_MS (default 20) is the one-way network delay. The sandboxes can only delay
an answer (they sleep before answering each API call), so they are told 2 x BENCH_LATENCY_MS: every
call orderbridge or the bench makes to either sandbox takes one 40 ms round trip more. What they
cannot delay (the webhook's trip into orderbridge, and the shipment call's trip into bol.com
before bol.com stamps its receipt) is added to the propagation figures as 2 x BENCH_LATENCY_MS and
said so in the table.

Shop queue: BENCH_DELIVERY_DELAY (e.g. "11-56"; default none) makes each shop hold every webhook
delivery that many seconds (uniformly drawn), as WooCommerce's Action Scheduler on WP-Cron did on
real shops, so "from the merchant's save" says what a merchant will see; "webhook -> bol.com" is
orderbridge's own part either way.

Other knobs: BENCH_SHOPS, BENCH_ORDERS, BENCH_RATES (e.g. "50,200,500"), BENCH_SECONDS (per rate),
BENCH_IDLE_ROUNDS, BENCH_WRITE=1 (write the tables into bench/RESULTS.md; the full size does it
by default).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import traceback
from pathlib import Path

SIZES = {
    "full": dict(shops=100, orders=10_000, rates="50,200,500", seconds=8.0, idle_rounds=10, idle_seconds=10.0),
    "small": dict(shops=10, orders=600, rates="50,200,500", seconds=0.5, idle_rounds=5, idle_seconds=3.0),
}
MB = 1024 * 1024
RESULTS = Path(__file__).with_name("RESULTS.md")


def _opt(name: str, default, cast):
    value = os.environ.get(f"BENCH_{name.upper()}")
    return cast(value) if value not in (None, "") else default


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _prod_env() -> tuple[dict | None, str, callable]:
    """(env overrides for the prod topology or None, why not, cleanup)."""
    if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"):
        if not os.environ["DATABASE_URL"].startswith("postgresql"):
            return None, "DATABASE_URL is not PostgreSQL", lambda: None
        return {}, "", lambda: None
    if not (_answers("127.0.0.1", 5432) and _answers("127.0.0.1", 6379)):
        return None, "DATABASE_URL/REDIS_URL not set and no PostgreSQL + Redis on 127.0.0.1", lambda: None
    import psycopg
    name = f"orderbridge_bench_{os.getpid()}"
    admin = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return None, f"cannot create a bench database: {str(exc).strip().splitlines()[0]}", lambda: None

    def drop() -> None:
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass
    return ({"DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{name}",
             "REDIS_URL": "redis://127.0.0.1:6379/0"}, "", drop)


def run_topology(topology: str, opts: dict, env: dict) -> dict:
    from bench import idle, importing, propagation
    from bench.system import running
    var_dir = Path(tempfile.mkdtemp(prefix=f"orderbridge-bench-{topology}-"))
    out: dict = {}
    started = time.monotonic()
    try:
        with running(topology, var_dir=var_dir, shops=opts["shops"], latency_ms=2 * opts["latency"],
                     env=env, delivery_delay=opts["delivery_delay"]) as system:
            out["threads"] = system.threads
            say(f"[{topology}] connecting {opts['shops']} shops to {opts['shops']} bol.com seller accounts")
            system.connect_all()
            say(f"[{topology}] 2. import: ceiling ({opts['orders']} direct creates, {system.threads} threads), "
                f"then {opts['orders']} bol.com orders through orderbridge")
            out["import"] = importing.run(system, opts["orders"])
            imp = out["import"]
            say(f"[{topology}]    ceiling {imp['ceiling']:.0f}/s, orderbridge {imp['rate']:.0f}/s "
                f"({imp['elapsed']:.0f} s)")
            say(f"[{topology}] 1. propagation at {opts['rates']} webhooks/s, {opts['seconds']:g} s each")
            out["propagation"] = propagation.run(system, opts["rates"], opts["seconds"])
            say(f"[{topology}] 3. idle cost: {opts['idle_rounds']} rounds x {opts['shops']} polls")
            out["idle"] = idle.run(system, opts["idle_rounds"], opts["idle_seconds"])
    except Exception as exc:  # noqa: BLE001 - the other topology still runs; the table says failed
        traceback.print_exc()
        out["error"] = f"{exc.__class__.__name__}: {exc}"
        say(f"[{topology}] FAILED: {out['error']} (logs in {var_dir / 'logs'})")
    else:
        shutil.rmtree(var_dir, ignore_errors=True)
    out["seconds"] = time.monotonic() - started
    return out


def say(text: str) -> None:
    print(text, flush=True)


def _fmt(value, spec: str, unit: str = "") -> str:
    if value is None:
        return "-"
    try:
        return f"{value:{spec}}{unit}"
    except (TypeError, ValueError):
        return str(value)


def tables(results: dict[str, dict], opts: dict) -> list[tuple[str, list[str], list[tuple]]]:
    from bench.propagation import CHANNABLE_MEDIAN
    cols = list(results)
    legs = 2 * opts["latency"] / 1000.0

    def get(topology, *path):
        value = results[topology]
        for key in path:
            if not isinstance(value, dict) or key not in value:
                return None
            value = value[key]
        return value

    def row(name, path, spec, unit="", scale=1.0, mark=""):
        values = []
        for t in cols:
            v = get(t, *path)
            values.append(_fmt(v * scale if isinstance(v, int | float) and scale != 1 else v, spec, unit)
                          if v is not None else ("failed" if "error" in results[t] else "-"))
        return (name, *values, mark)

    def check(ok_per_col) -> str:
        marks = []
        for t in cols:
            ok = ok_per_col(t)
            marks.append("-" if ok is None else ("met" if ok else "MISSED"))
        return " | ".join(f"{t}: {m}" for t, m in zip(cols, marks, strict=False))

    out = []
    # 1. propagation
    for t in cols:
        for rate in opts["rates"]:
            m = get(t, "propagation", rate)
            if m and get(t, "propagation", "floor"):
                m["p50_floor"] = m["p50"] / results[t]["propagation"]["floor"]
                m["channable"] = CHANNABLE_MEDIAN / (m["p50"] + legs)
                # what the merchant sees: from the save, through the shop's own webhook queue
                m["channable_click"] = CHANNABLE_MEDIAN / (m["click_p50"] + legs)
            if m:
                m["answer"] = f"{m['answer_p50'] * 1000:.0f} / {m['answer_p99'] * 1000:.0f} ms"
                m["cpu"] = f"{m['cpu_web'] * 1000:.1f} + {m['cpu_worker'] * 1000:.1f} ms"
    rows = [row("floor: one direct shipment call (round trip) p50", ("propagation", "floor"), ".0f", " ms", 1000)]
    for rate in opts["rates"]:
        k = rate
        rows += [
            row(f"{rate:g}/s  completions offered per s", ("propagation", k, "offered"), ".0f", "/s"),
            row(f"{rate:g}/s  webhooks arriving per s", ("propagation", k, "arrived"), ".0f", "/s"),
            row(f"{rate:g}/s  p50 webhook -> bol.com", ("propagation", k, "p50"), ".0f", " ms", 1000),
        ]
        p99_mark = ""
        if rate == 200:
            p99_mark = "p99 + legs < 1 s: " + check(
                lambda t: None if get(t, "propagation", 200, "p99") is None
                else get(t, "propagation", 200, "p99") + legs < 1.0)
        rows += [
            row(f"{rate:g}/s  p99", ("propagation", k, "p99"), ".0f", " ms", 1000, p99_mark),
            row(f"{rate:g}/s  max", ("propagation", k, "max"), ".0f", " ms", 1000),
            row(f"{rate:g}/s  p50 / floor", ("propagation", k, "p50_floor"), ".1f", " x"),
            row(f"{rate:g}/s  Channable median 150 s / our p50", ("propagation", k, "channable"), ",.0f", " x"),
            row(f"{rate:g}/s  p50 from the merchant's save (incl. shop queue)", ("propagation", k, "click_p50"),
                ".0f", " ms", 1000),
            row(f"{rate:g}/s  p99 from the merchant's save (incl. shop queue)", ("propagation", k, "click_p99"),
                ".0f", " ms", 1000),
            row(f"{rate:g}/s  Channable median 150 s / our p50 from the save", ("propagation", k, "channable_click"),
                ",.1f", " x"),
            row(f"{rate:g}/s  our webhook answer time p50 / p99", ("propagation", k, "answer"), "s"),
            row(f"{rate:g}/s  our CPU per completion: web + consumers", ("propagation", k, "cpu"), "s"),
        ]
    rows.append((f"not delayed by the sandboxes: webhook in + shipment out, add 2 x {opts['latency']} ms",
                 *[f"+{2 * opts['latency']} ms"] * len(cols), ""))
    queue = (f"; each shop holds its webhooks {opts['delivery_delay']} s, as WP-Cron"
             if opts["delivery_delay"] else "; the shops send their webhooks at once (no WP-Cron wait)")
    out.append((f"1. Propagation: shop webhook -> bol.com shipment call ({opts['shops']} shops, "
                f"{opts['seconds']:g} s per rate{queue})", cols, rows))
    # 2. import
    rows = [
        row("orders (one per marketplace order, over all shops)", ("import", "orders"), ",d"),
        row("ceiling: direct creates on the same shops, same threads", ("import", "ceiling"), ".1f", " orders/s"),
        row("orderbridge: bol.com -> created in the shops", ("import", "rate"), ".1f", " orders/s"),
        row("  time for all of them", ("import", "elapsed"), ".0f", " s"),
        row("  share of the shops' ceiling", ("import", "share"), ".0f", " %", 100,
            ">= 80 %: " + check(lambda t: None if get(t, "import", "share") is None
                                else get(t, "import", "share") >= 0.8)),
        row("  CPU per order: our Huey consumers", ("import", "cpu_worker"), ".1f", " ms", 1000),
        row("  CPU per order: our web (webhooks)", ("import", "cpu_web"), ".1f", " ms", 1000),
        row("  CPU per order: the shops' sandbox process", ("import", "cpu_shops"), ".1f", " ms", 1000),
        row("  CPU per order: bol.com sandbox (+ unused shop sandbox)", ("import", "cpu_sandbox"), ".1f", " ms", 1000),
        row("  our consumers' CPU during the import", ("import", "cpu_share_worker"), ".0f", " % of a core", 100),
        row("  jobs waiting in the queue, peak", ("import", "queue_peak"), ",d"),
        row("  429 answers from bol.com", ("import", "bol_429"), "d"),
        row("  duplicates in the shops", ("import", "duplicates"), "d"),
    ]
    out.append((f"2. Import: {opts['orders']:,} bol.com orders across {opts['shops']} shops / seller accounts",
                cols, rows))
    # 3. idle
    rows = [
        row("polls of connections with nothing new", ("idle", "polls"), ",d"),
        row("consumer CPU per poll, raw", ("idle", "raw_per_poll"), ".2f", " ms", 1000),
        row("consumers' own idle CPU (heartbeat, queue polling)", ("idle", "idle_rate"), ".1f", " % of a core", 100),
        row("consumer CPU per poll, idle subtracted", ("idle", "per_poll"), ".2f", " ms", 1000,
            "<= 5 ms: " + check(lambda t: None if get(t, "idle", "per_poll") is None
                                else get(t, "idle", "per_poll") <= 0.005)),
        row("connections per consumer per 5-min cycle at 50 % CPU", ("idle", "capacity"), ",.0f", "",
            1, ">= 10,000: " + check(lambda t: None if get(t, "idle", "capacity") is None
                                     else get(t, "idle", "capacity") >= 10_000)),
    ]
    out.append(("3. Idle cost: polls with nothing new", cols, rows))
    # 4. memory
    rows = [
        row("peak RSS of a web worker during 2.", ("import", "rss_web"), ".0f", " MB", 1 / MB,
            "<= 150 MB: " + check(lambda t: None if get(t, "import", "rss_web") is None
                                  else get(t, "import", "rss_web") <= 150 * MB)),
        row("peak RSS of a Huey consumer during 2.", ("import", "rss_worker"), ".0f", " MB", 1 / MB,
            "<= 150 MB: " + check(lambda t: None if get(t, "import", "rss_worker") is None
                                  else get(t, "import", "rss_worker") <= 150 * MB)),
        row("  samples (every 100 ms)", ("import", "rss_samples"), ",d"),
    ]
    out.append(("4. Memory during the import", cols, rows))
    return out


def machine() -> str:
    import psutil
    model = ""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{socket.gethostname()}, {os.cpu_count()} cores ({model or platform.machine()}), "
            f"{psutil.virtual_memory().total / 1024 ** 3:.0f} GiB, Python {platform.python_version()}")


def write_results(text: str, header: str) -> None:
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = f"{begin}\n{header}\n\n{text}\n{end}"
    current = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if begin in current and end in current:
        current = current[:current.index(begin)] + block + current[current.index(end) + len(end):]
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(current)


def main() -> int:
    import logging
    logging.basicConfig(level=logging.ERROR)
    size = os.environ.get("BENCH_SIZE", "full")
    if size not in SIZES:
        sys.exit(f"bench: BENCH_SIZE must be one of {', '.join(SIZES)}")
    base = SIZES[size]
    opts = {
        "shops": _opt("shops", base["shops"], int), "orders": _opt("orders", base["orders"], int),
        "rates": [float(r) for r in _opt("rates", base["rates"], str).split(",")],
        "seconds": _opt("seconds", base["seconds"], float), "idle_rounds": _opt("idle_rounds", base["idle_rounds"], int),
        "idle_seconds": _opt("idle_seconds", base["idle_seconds"], float), "latency": _opt("latency_ms", 20, int),
        "delivery_delay": _opt("delivery_delay", "", str).strip(),
    }
    from sandbox.woocommerce.state import parse_delay
    try:
        parse_delay(opts["delivery_delay"])
    except ValueError as exc:
        sys.exit(f"bench: BENCH_DELIVERY_DELAY: {exc}")
    opts["rates"] = [int(r) if r == int(r) else r for r in opts["rates"]]
    wanted = _opt("topologies", "embedded,prod", str).split(",")
    load = os.getloadavg()
    say(f"orderbridge bench ({size}): {machine()}; load average {load[0]:.1f} at start")
    say(f"  {opts['shops']} shops x 1 seller account each, {opts['orders']:,} orders, propagation at "
        f"{', '.join(f'{r:g}' for r in opts['rates'])}/s for {opts['seconds']:g} s each, "
        f"network latency {opts['latency']} ms each way (sandboxes answer {2 * opts['latency']} ms later)"
        + (f", shop webhook queue {opts['delivery_delay']} s" if opts["delivery_delay"] else ""))
    results: dict[str, dict] = {}
    started = time.monotonic()
    if "embedded" in wanted:
        results["embedded"] = run_topology("embedded", opts, {})
    if "prod" in wanted:
        env, why, cleanup = _prod_env()
        if env is None:
            say(f"prod topology skipped: {why}")
            results["prod"] = {"error": f"skipped: {why}"}
        else:
            try:
                results["prod"] = run_topology("prod", opts, env)
            finally:
                cleanup()
    total = time.monotonic() - started
    load_end = os.getloadavg()
    rendered, md = [], []
    from bench.table import markdown, show
    for title, cols, rows in tables(results, opts):
        rendered.append(show(title, cols, rows))
        md.append(markdown(title, cols, rows))
    for t, r in results.items():
        if "error" in r:
            say(f"{t}: {r['error']}")
    say(f"\nbench took {total / 60:.1f} min; load average {load_end[0]:.1f} at the end")
    if os.environ.get("BENCH_WRITE", "1" if size == "full" else "0") == "1":
        header = (f"Latest `make bench` ({size}, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC): {machine()}. "
                  f"Load average {load[0]:.1f} at the start, {load_end[0]:.1f} at the end; took "
                  f"{total / 60:.1f} min. {opts['shops']} shops, {opts['orders']:,} orders, latency "
                  f"{opts['latency']} ms each way. Topologies: "
                  + ", ".join(f"{t} ({r['threads']} consumer threads)" if "threads" in r else f"{t} ({r.get('error')})"
                              for t, r in results.items()) + ".")
        write_results("\n".join(md), header)
        say(f"tables written into {RESULTS}")
    return 0 if all("error" not in r or r["error"].startswith("skipped") for r in results.values()) else 1


sys.exit(main())
