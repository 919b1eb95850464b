from __future__ import annotations

import statistics


def pct(values: list[float], p: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def show(title: str, rows: list[tuple[str, str]]) -> None:
    width = max(len(r[0]) for r in rows)
    print(f"\n{title}")
    print("-" * (width + 18))
    for name, value in rows:
        print(f"{name:<{width}}  {value:>14}")
    print("-" * (width + 18), flush=True)
