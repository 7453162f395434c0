"""`modelcycle compare` for people: rich tables that fit 80 columns (long values wrap, never cut)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from rich.console import Console

    from .compare import VersionComparison


def number(value: Any) -> str:
    """4 significant digits; n/a where a metric is undefined (never 'None')."""
    return "n/a" if value is None else f"{value:.4g}"


def print_comparison(result: VersionComparison, console: Console) -> None:
    """Metrics with B − A and its interval, the decisions, then what differs in settings and lineage."""
    from rich.markup import escape
    from rich.table import Table

    r = result
    excluded = f", {r.rows_excluded:,} left out (a version was trained on them)" if r.rows_excluded else ""
    console.print(
        escape(
            f"{r.model}: version {r.a} (A) vs version {r.b} (B), {r.task}, on {r.rows_compared:,} "
            f"labelled rows of {r.rows_from}{excluded}"
        ),
        highlight=False,
    )
    if r.note:
        console.print(escape(f"note: {r.note}"), highlight=False)
    level = f"{r.level:.0%}"
    metrics = Table(show_edge=False, header_style="bold", pad_edge=False)
    metrics.add_column("metric", overflow="fold")
    for name in (f"A: v{r.a}", f"B: v{r.b}", "B − A"):
        metrics.add_column(name, justify="right", no_wrap=True)
    metrics.add_column(f"{level} interval", justify="right", overflow="fold")
    metrics.add_column("better", no_wrap=True)
    for m in r.metrics:
        interval = "n/a" if m.low is None else f"[{m.low:.3g}, {m.high:.3g}]"
        name = m.metric + (" *" if m.metric == r.primary_metric else "")
        metrics.add_row(escape(name), number(m.a), number(m.b), number(m.difference), interval, m.verdict)
    console.print(metrics)
    console.print(
        f"* primary metric; better: the side the {level} paired bootstrap interval of B − A "
        f"({r.resamples:,} resamples) points to, – when it holds 0",
        highlight=False,
    )
    verb = "would activate" if r.if_better.get("activate") else "would not activate"
    console.print(
        escape(f"if-better: {verb} version {r.b} over version {r.a}: {r.if_better.get('reason')}"), highlight=False
    )
    d = r.decision
    if d:
        did = "activated" if d.get("activate") else "not activated"
        who = (d.get("candidate") or {}).get("version"), (d.get("incumbent") or {}).get("version")
        console.print(
            escape(f"recorded: version {who[0]} {did} over version {who[1]}: {d.get('reason')}"), highlight=False
        )
    if not r.differences:
        console.print(f"settings and lineage: no difference ({len(r.same)} keys compared)", highlight=False)
        return
    lineage = Table(
        show_edge=False,
        header_style="bold",
        pad_edge=False,
        title_justify="left",
        title=f"settings and lineage: {len(r.differences)} differ, {len(r.same)} the same",
    )
    lineage.add_column("what", overflow="fold", ratio=1)
    lineage.add_column(f"A: v{r.a}", overflow="fold", ratio=2)
    lineage.add_column(f"B: v{r.b}", overflow="fold", ratio=2)
    for row in r.differences:
        lineage.add_row(escape(row["key"]), escape(text_of(row["a"])), escape(text_of(row["b"])))
    console.print(lineage)


def text_of(value: Any) -> str:
    """A lineage value for people: lists joined, floats to 6 digits, a dash for nothing."""
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
