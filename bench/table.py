from __future__ import annotations

import statistics


def pct(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def show(title: str, columns: list[str], rows: list[tuple]) -> str:
    """rows: (name, value per column..., target mark or ""). Printed and returned (markdown too)."""
    width = max([len(r[0]) for r in rows] + [10])
    cols = [max([len(c)] + [len(str(r[1 + i])) for r in rows]) for i, c in enumerate(columns)]
    line = "-" * (width + sum(c + 3 for c in cols) + 12)
    out = [f"\n{title}", line,
           f"{'':<{width}}" + "".join(f" | {c:>{w}}" for c, w in zip(columns, cols, strict=False)) + " | target", line]
    for row in rows:
        name, values, mark = row[0], row[1:1 + len(columns)], row[1 + len(columns)] if len(row) > 1 + len(columns) else ""
        out.append(f"{name:<{width}}" + "".join(f" | {str(v):>{w}}" for v, w in zip(values, cols, strict=False)) + f" | {mark}")
    out.append(line)
    text = "\n".join(out)
    print(text, flush=True)
    return text


def markdown(title: str, columns: list[str], rows: list[tuple]) -> str:
    out = [f"### {title}", "", "| figure | " + " | ".join(columns) + " | target |",
           "|---|" + "---:|" * len(columns) + "---|"]
    for row in rows:
        values = row[1:1 + len(columns)]
        mark = row[1 + len(columns)] if len(row) > 1 + len(columns) else ""
        out.append(f"| {row[0]} | " + " | ".join(str(v) for v in values) + f" | {mark} |")
    return "\n".join(out) + "\n"
