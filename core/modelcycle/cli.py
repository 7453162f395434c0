"""The command line: parse, call Project, print. Nothing else lives here.

Heavy libraries (pandas, scikit-learn, rich) load only inside the commands that
print or compute with them, so `modelcycle --help` starts fast.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import click

from .errors import ModelcycleError


class State:
    """What the group options decide, handed to every command."""

    def __init__(self, project_path: str | None, verbose: bool) -> None:
        self.project_path = project_path
        self.verbose = verbose
        self._project: Any = None

    @property
    def project(self) -> Any:
        if self._project is None:
            from .project import open_project

            if self.project_path is not None and not self.project_path.strip():
                raise ModelcycleError(
                    "--project is empty: give a folder holding modelcycle.toml or the file itself, or leave it out"
                )

            self._project = open_project(self.project_path)
        return self._project

    def redact(self, value: Any) -> Any:
        return self._project.settings.redactor(value) if self._project is not None else value


pass_state = click.make_pass_decorator(State)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def emit_json(state: State, value: Any) -> None:
    """A command's result as JSON: the record decides the shape (`to_json()`)."""
    shown = value.to_json() if hasattr(value, "to_json") else value
    click.echo(json.dumps(state.redact(shown), indent=2, default=str))


def emit_json_line(state: State, value: Any) -> None:
    """One event of a long-running command as one JSON line, flushed at once."""
    shown = value.to_json() if hasattr(value, "to_json") else value
    click.echo(json.dumps(state.redact(shown), default=str))
    sys.stdout.flush()


def table(
    state: State,
    title: str | None,
    columns: list[str],
    rows: list[list[Any]],
    *,
    wrap: tuple[str, ...] = (),
    hint: str = "use --json",
) -> None:
    """A table that fits the terminal (80 columns when piped): columns in order while they fit,
    `wrap` columns wrapped at spaces, the others whole; a note names any column left out.
    A cell is never cut short."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    cells = [[state.redact("" if v is None else str(v)) for v in row] for row in rows]
    kept: list[int] = []
    used = -1  # n columns take their widths plus 2 of padding each and n - 1 separators
    for i, column in enumerate(columns):
        values = [column, *(row[i] for row in cells)]
        if column in wrap:
            need = max(10, *(len(word) for v in values for word in (v.split() or [""])))
        else:
            need = max(len(v) for v in values)
        if kept and used + need + 3 > console.width:
            continue
        kept.append(i)
        used += need + 3
    out = Table(title=title, show_edge=False, header_style="bold")
    for i in kept:
        if columns[i] in wrap:
            out.add_column(columns[i], overflow="fold")
        else:
            width = max(len(v) for v in [columns[i], *(row[i] for row in cells)])
            out.add_column(columns[i], no_wrap=True, min_width=width)
    for row in cells:
        out.add_row(*(escape(row[i]) for i in kept))
    console.print(out)
    dropped = [c or "marker" for i, c in enumerate(columns) if i not in kept]
    if dropped:
        import textwrap

        note = f"not shown at {console.width} columns: {', '.join(dropped)}; {hint}, or widen the terminal"
        click.echo(textwrap.fill(note, width=console.width, break_long_words=False, break_on_hyphens=False))


def plural(count: int, word: str) -> str:
    from .records import plural as counted

    return counted(count, word)


def _number(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:.4g}" if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def format_metrics(metrics: dict[str, Any] | None, limit: int = 4, leading: list[str] | None = None) -> str:
    """name=value pairs, `leading` (primary then checked metrics) first; a missing value prints `-`."""
    if not metrics:
        return ""
    from .records import metric_order

    names = metric_order(metrics, leading or [])
    return " ".join(f"{name}={_number(metrics[name])}" for name in names[:limit])


def format_estimates(record: dict[str, Any]) -> str:
    """Estimated metrics, each with the half-width of its sampling-error band: mae=0.388±0.03."""
    bands = record.get("estimated_bands") or {}
    shown = []
    for part in format_metrics(record.get("estimated"), limit=8).split():
        band = bands.get(part.split("=")[0])
        shown.append(f"{part}±{(band['high'] - band['low']) / 2:.2g}" if band else part)
    return " ".join(shown)


class LogLevel(click.Choice):  # type: ignore[type-arg]
    """A level name; a bad one from MODELCYCLE_LOG_LEVEL names the variable, not the option."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as exc:
            from click.core import ParameterSource

            if ctx is None or param is None or param.name is None:
                raise
            if ctx.get_parameter_source(param.name) is not ParameterSource.ENVIRONMENT:
                raise
            raise click.BadParameter(exc.message, ctx=ctx, param_hint="MODELCYCLE_LOG_LEVEL") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--project", "project_path", metavar="PATH", help="The project folder or its modelcycle.toml.")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks with errors.")
@click.option(
    "--log-level",
    type=LogLevel(["debug", "info", "warning", "error", "critical"], case_sensitive=False),
    default="warning",
    show_default=True,
    envvar="MODELCYCLE_LOG_LEVEL",
    help="Log messages at this level and above to stderr (also MODELCYCLE_LOG_LEVEL).",
)
@click.version_option(package_name="modelcycle", prog_name="modelcycle")
@click.pass_context
def cli(ctx: click.Context, project_path: str | None, verbose: bool, log_level: str) -> None:
    """modelcycle: train, version, activate, score, evaluate, check, alert, schedule."""
    from . import logs

    ctx.obj = State(project_path, verbose)
    logs.configure(log_level)
    ctx.call_on_close(logs.unconfigure)


@cli.command()
@click.argument("directory", default=".", metavar="[DIR]")
@json_option
@pass_state
def init(state: State, directory: str, as_json: bool) -> None:
    """Write a commented modelcycle.toml template in DIR."""
    from .scaffold import init_project

    done = init_project(directory)
    if as_json:
        emit_json(state, done)
    else:
        click.echo(f"wrote {done.path}: {done.next_step}")


@cli.command()
@json_option
def schema(as_json: bool) -> None:
    """Print the JSON Schema of modelcycle.toml, for editors (see docs/settings.md).

    The schema is JSON already: --json prints the same.
    """
    from .settings_schema import shipped_text

    click.echo(shipped_text(), nl=False)


@cli.command()
@click.argument("directory", default="modelcycle-demo", metavar="[DIR]")
@json_option
@pass_state
def demo(state: State, directory: str, as_json: bool) -> None:
    """The whole lifecycle on generated drifting data, offline, in about a minute.

    With --json the story goes to stderr and stdout gets one JSON object.
    """
    from .scaffold import demo_project

    story = demo_project(directory, say=lambda line: click.echo(line, err=as_json))
    if as_json:
        emit_json(state, story)


@cli.command()
@click.argument("model")
@click.option("--activate/--no-activate", "activate", default=None, help="Override the activation policy once.")
@click.option("--full", is_flag=True, help="After validation, refit on every row.")
@json_option
@pass_state
def train(state: State, model: str, activate: bool | None, full: bool, as_json: bool) -> None:
    """Train a new version of MODEL and apply its activation policy."""
    with progress_display(not as_json) as progress:
        result = state.project.train(model, activate=activate, full=full, progress=progress)
    if as_json:
        emit_json(state, result.to_json())
        return
    decision = result.decision
    click.echo(
        state.redact(
            f"{model}: version {result.version} trained  "
            f"{format_metrics(result.metrics, limit=8, leading=result.leading_metrics)}\n"
            f"  {'activated' if result.activated else 'not activated'}: {decision['reason']}"
        )
    )
    if decision.get("rows_compared") is not None:  # if-better's fair comparison: on which rows
        click.echo(
            f"  compared on {decision['rows_compared']} rows ({decision['compared_on']}), "
            f"{decision['rows_excluded']} excluded as training rows"
        )


def cli_path(state: State, value: str, *, dataset: bool = True) -> str:
    """A path given on the command line, made absolute from the current folder; a URL as it is,
    and, where a dataset may be named (`dataset`), a dataset name as it is (paths in
    modelcycle.toml start at its folder instead)."""
    import os

    if "://" in value:
        return value
    if dataset and (value in state.project.settings.datasets or not any(ch in value for ch in "/.:")):
        return value
    return os.path.abspath(value)


@cli.command()
@click.argument("model")
@click.argument("data", metavar="[DATA]", required=False)
@click.option("--version", "version", type=int, help="Evaluate this version instead of the active one.")
@click.option(
    "--labels",
    "labels",
    metavar="FILE",
    help="Labels that arrived later (id and label columns), joined by id to the logged predictions.",
)
@click.option("--name", "name", metavar="NAME", help="A name for this evaluation (default: the dataset's name).")
@click.option("--as-of", "as_of", metavar="DATE", help="The date (or ISO time) the data covers, e.g. 2026-10-31.")
@json_option
@pass_state
def evaluate(
    state: State,
    model: str,
    data: str | None,
    version: int | None,
    labels: str | None,
    name: str | None,
    as_of: str | None,
    as_json: bool,
) -> None:
    """Evaluate MODEL on DATA (a dataset name or URL), or on --labels joined to its logged
    predictions, and record it in the history. Paths are relative to the current folder."""
    if (data is None) == (labels is None):
        raise click.UsageError("give DATA (a dataset name or URL) or --labels FILE: one of the two")
    name, as_of = _evaluation_label(name, as_of)
    data = None if data is None else cli_path(state, data)
    labels = None if labels is None else cli_path(state, labels)
    with progress_display(not as_json) as progress:
        result = state.project.evaluate(
            model, data, labels=labels, version=version, progress=progress, name=name, as_of=as_of
        )
    if as_json:
        emit_json(state, result)
        return
    for record in result:
        drift = record["drift"]
        share = "-" if drift.get("share") is None else f"{drift['share']:.0%}"
        lines = [
            f"{model} version {record['version']}: evaluation {record['id']} on {record['rows']:,} rows "
            f"({record['labeled_rows']:,} labelled)" + _label_text(record),
            f"  metrics    {format_metrics(record['metrics'], limit=8, leading=result.leading_metrics) or '-'}",
            f"  estimated  {format_estimates(record) or '-'}",
            f"  drift      {share} of columns drifted"
            + (f": {', '.join(drift['drifted_columns'][:8])}" if drift["drifted_columns"] else ""),
        ]
        if record.get("labels"):
            joined = record["labels"]
            lines.append(
                f"  labels     {joined['matched']:,} of {joined['rows']:,} ids matched a logged prediction, "
                f"{joined['unmatched']:,} unmatched; {joined['unlabelled_predictions']:,} predictions still unlabelled"
                + (
                    f"; {joined['deleted_version_rows']:,} labelled predictions of versions gc deleted left out"
                    if joined.get("deleted_version_rows")
                    else ""
                )
            )
        click.echo(state.redact("\n".join(lines)))


def _evaluation_label(name: str | None, as_of: str | None) -> tuple[str | None, str | None]:
    """--name and --as-of checked before anything runs: a bad one is a usage error."""
    from .evaluation_label import checked_name
    from .settings import parse_as_of

    try:
        return checked_name(name), parse_as_of(as_of)
    except ModelcycleError as exc:
        raise click.BadParameter(str(exc), param_hint="'--name'") from None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--as-of'") from None


def _label_text(record: dict[str, Any]) -> str:
    """', named october, data as of 2026-10-31' when the evaluation was given a name or an as_of."""
    name, as_of = record.get("name"), record.get("as_of")
    name = None if name == (record.get("dataset") or {}).get("name") else name  # the default says nothing new
    return (f", named {name}" if name else "") + (f", data as of {as_of}" if as_of else "")


@cli.command()
@click.argument("model")
@click.option(
    "--metric",
    "metrics",
    multiple=True,
    metavar="NAME",
    help="Only this metric (e.g. roc_auc, drift.share, estimated.accuracy); repeat for several.",
)
@json_option
@pass_state
def history(state: State, model: str, metrics: tuple[str, ...], as_json: bool) -> None:
    """MODEL's evaluations over time: the primary and checked metrics first."""
    found = state.project.metric_history(model, metrics)
    if as_json:
        emit_json(state, found)
        return
    if not found.rows:
        click.echo(f"model '{model}' has no evaluations yet: run 'modelcycle evaluate {model} DATA'")
        return
    shown = found.rows[-50:]
    # as_of and challenger only when some row has one: the room goes to the dataset and the metrics
    sometimes = [c for c in ("as_of", "challenger") if c not in found.metrics and not any(r.get(c) for r in shown)]
    columns = [c for c in found.columns if c != "id" and c not in sometimes]
    table(
        state,
        f"{model}: {plural(len(found.rows), 'evaluation')}" + (" (the latest 50)" if len(found.rows) > 50 else ""),
        columns,
        [[_flag(row[c]) if c == "challenger" else _cell(row[c]) for c in columns] for row in shown],
        hint="choose them with --metric NAME (repeatable) or use --json",
    )


def _flag(value: Any) -> str:
    """The challenger column shows only when set."""
    return "yes" if value in (True,) else ""


def _cell(value: Any) -> str:
    """A value in a human table: a missing one prints `-`."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if hasattr(value, "isoformat"):
        return value.isoformat()[:19]
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        return value[:19]  # a timestamp: to the second
    return str(value)


@cli.command()
@click.argument("names", nargs=-1, metavar="[NAME]...")
@json_option
@pass_state
def check(state: State, names: tuple[str, ...], as_json: bool) -> None:
    """Run checks (all by default), record the results and send alerts; exit 1 on any ERROR."""
    results = state.project.run_checks(list(names) or None)
    if as_json:
        emit_json(state, [r.to_json() for r in results])
    else:
        table(
            state,
            None,
            ["check", "model", "metric", "value", "outcome", "message"],
            [[r.check, r.model, r.metric, _cell(r.value), r.outcome, r.message] for r in results],
            wrap=("message",),
        )
    if any(r["outcome"] == "ERROR" for r in results):
        sys.exit(1)


@cli.group(invoke_without_command=True)
@click.option("--pending", is_flag=True, help="Only alerts not delivered yet.")
@json_option
@click.pass_context
def alerts(ctx: click.Context, pending: bool, as_json: bool) -> None:
    """Alerts sent and pending; 'alerts retry' re-sends the pending ones."""
    if ctx.invoked_subcommand is not None:
        return
    state: State = ctx.obj
    found = state.project.alerts(pending_only=pending)
    shown = found.alerts
    if as_json:
        emit_json(state, found)
        return
    if not shown:
        click.echo("no pending alerts" if pending else "no alerts yet")
        return
    table(
        state,
        None,
        ["id", "status", "notifier", "created", "attempts", "subject / last error"],
        [
            [
                a.id[:10],
                a.status,
                a.notifier,
                a.created_at[:19],
                a.attempts,
                a.last_error or a.subject,
            ]
            for a in shown
        ],
        wrap=("subject / last error",),
    )


@alerts.command("retry")
@json_option
@pass_state
def alerts_retry(state: State, as_json: bool) -> None:
    """Send every pending alert now, whatever its backoff."""
    done = state.project.retry_alerts()
    if as_json:
        emit_json(state, done)
    else:
        click.echo(f"{done.delivered} of {len(done.alerts)} pending alerts delivered")
    if done.delivered < len(done.alerts):
        sys.exit(1)


@cli.command()
@click.argument("notifier")
@click.argument("message")
@json_option
@pass_state
def notify(state: State, notifier: str, message: str, as_json: bool) -> None:
    """Send MESSAGE through NOTIFIER, to test it (exit 1 if it was not delivered)."""
    result = state.project.notify(notifier, message)
    if as_json:
        emit_json(state, result)
    elif result.delivered:
        click.echo(state.redact(f"sent to {result.target}"))
    else:
        click.echo(state.redact(f"error: notifier '{notifier}' did not deliver: {result.error}"), err=True)
    if not result.delivered:
        sys.exit(1)


@cli.command()
@click.argument("model", required=False)
@json_option
@pass_state
def status(state: State, model: str | None, as_json: bool) -> None:
    """Per model: active version, latest evaluation, and status (the worst latest check)."""
    found = state.project.status(model)
    if as_json:
        emit_json(state, found)
        return
    if not found:
        click.echo("no models yet: add a [models.NAME] table to modelcycle.toml, then `modelcycle train NAME`")
        return
    table(
        state,
        None,
        ["model", "active", "latest evaluation", "status"],
        [
            [
                s.model,
                s.active_version or "-",
                "-"
                if s.latest_evaluation is None
                else f"#{s.latest_evaluation['id']} {s.latest_evaluation['evaluated_at'][:19]} "
                f"{format_metrics(s.shown_metrics(), limit=3, leading=s.leading_metrics)}",
                s.status,
            ]
            for s in found
        ],
        wrap=("latest evaluation",),
    )


@contextlib.contextmanager
def stop_on_signals() -> Iterator[Any]:
    """An Event set by SIGTERM or Ctrl-C: the step in progress finishes, then the run ends ABORTED.

    A second Ctrl-C interrupts at once (the run is still recorded ABORTED).
    """
    import signal
    import threading

    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handle(signum: int, _frame: Any) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        stop.set()
        click.echo(f"{signal.Signals(signum).name}: stopping after the current step", err=True)

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[Any]:
    """An Event SIGTERM sets (as a service manager stops a server); Ctrl-C still interrupts."""
    import signal
    import threading

    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_line(run: dict[str, Any]) -> str:
    return (
        f"scenario {run['scenario']} run {run['id']}: {run['outcome']}  "
        f"(trigger: {run['trigger']}, {(run.get('started_at') or '')[:19]} to {(run.get('finished_at') or '')[:19]})"
    )


@cli.group()
def scenario() -> None:
    """Scenarios: list them, run one now, see their run history."""


@scenario.command("list")
@json_option
@pass_state
def scenario_list(state: State, as_json: bool) -> None:
    """Scenarios with their triggers, steps and last run."""
    project = state.project
    found = project.scenarios()
    if as_json:
        emit_json(state, [s.to_json() for s in found])
        return
    if not found:
        click.echo(f"no scenarios: add a [scenarios.NAME] section to {project.settings.file.name}")
        return
    table(
        state,
        None,
        ["scenario", "triggers", "steps", "last run"],
        [
            [
                s["name"],
                "; ".join(s["triggers"]) or "manual only",
                ", ".join(s["steps"]),
                "-"
                if s["last_run"] is None
                else f"#{s['last_run']['id']} {s['last_run']['outcome']} {(s['last_run']['finished_at'] or '')[:19]}",
            ]
            for s in found
        ],
        wrap=("triggers", "steps", "last run"),
    )


@scenario.command("run")
@click.argument("name")
@json_option
@pass_state
def scenario_run(state: State, name: str, as_json: bool) -> None:
    """Run scenario NAME now; exit 1 when it FAILED (or was ABORTED)."""
    with stop_on_signals() as stop:
        run = state.project.run_scenario(name, stop=stop)
    if as_json:
        emit_json(state, run)
    else:
        lines = [_run_line(run)]
        width = max((len(s["type"]) for s in run["steps"]), default=0)
        for step in run["steps"]:
            lines.append(f"  {step['type']:<{width}}  {step['outcome']:<8} {step.get('message') or ''}".rstrip())
        click.echo(state.redact("\n".join(lines)))
    if run["outcome"] in ("FAILED", "ABORTED"):
        sys.exit(1)


@scenario.command("runs")
@click.argument("name", required=False)
@json_option
@pass_state
def scenario_runs(state: State, name: str | None, as_json: bool) -> None:
    """Run history of scenario NAME (of every scenario without it), oldest first."""
    runs = state.project.scenario_runs(name)
    if as_json:
        emit_json(state, [r.to_json() for r in runs])
        return
    if not runs:
        click.echo("no runs yet")
        return
    table(
        state,
        None,
        ["scenario", "run", "trigger", "started", "finished", "outcome", "steps"],
        [
            [
                r["scenario"],
                r["id"],
                r["trigger"],
                (r.get("started_at") or "")[:19],
                (r.get("finished_at") or "")[:19],
                r["outcome"],
                ", ".join(f"{s['type']} {s['outcome']}" for s in r["steps"]),
            ]
            for r in runs
        ],
        wrap=("steps",),
    )


@cli.command()
@click.option("--once", is_flag=True, help="Tick once and exit (for system cron); exit 1 if a run failed.")
@click.option(
    "--interval",
    type=click.FloatRange(min=1, max=86400),
    callback=lambda _ctx, _param, value: _finite(value, "--interval"),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="Seconds between ticks when not --once.",
)
@json_option
@pass_state
def scheduler(state: State, once: bool, interval: float, as_json: bool) -> None:
    """Fire due triggers and run their scenarios: once, or every SECONDS until SIGTERM or Ctrl-C.

    With --json: --once prints one object (its runs and problems); otherwise one JSON line per
    event (started, run, problem, stopped).
    """
    project = state.project  # it logs every problem itself, each time, at level error
    with stop_on_signals() as stop:
        if once:
            tick = project.scheduler_tick(stop=stop)
            if as_json:
                emit_json(state, tick)
            else:
                for run in tick.runs:
                    click.echo(state.redact(_run_line(run)))
            if tick.failed:
                sys.exit(1)
            return

        def on_event(event: Any) -> None:
            if as_json:
                emit_json_line(state, event)
            elif event.event == "run":
                click.echo(state.redact(_run_line(event.run)))
            elif event.event == "started":
                click.echo(
                    f"scheduler: {plural(event.scenarios, 'scenario')}, {plural(event.triggers, 'trigger')}, "
                    f"a tick every {interval:g} s; SIGTERM or Ctrl-C stops after the current step",
                    err=True,
                )
            elif event.event == "stopped":
                click.echo("scheduler: stopped", err=True)

        project.run_scheduler(interval=interval, stop=stop, on_event=on_event)


@cli.group()
def dashboard() -> None:
    """The dashboard: one self-contained HTML file, or served live and read-only."""


@dashboard.command("build")
@click.argument("out", required=False, metavar="[OUT]")
@json_option
@pass_state
def dashboard_build(state: State, out: str | None, as_json: bool) -> None:
    """Write the dashboard as one HTML file that loads nothing from anywhere.

    OUT is relative to the current folder; default: dashboard.html in the project folder.
    """
    built = state.project.build_dashboard(Path(out).absolute() if out else None)
    if as_json:
        emit_json(state, built)
        return
    click.echo(
        state.redact(f"dashboard written to {built.path} ({built.bytes / 1024:,.0f} KiB in {built.seconds:.1f} s)")
    )


@dashboard.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port; 0 picks one.")
@json_option
@pass_state
def dashboard_serve(state: State, host: str, port: int, as_json: bool) -> None:
    """Serve the dashboard live, read-only (GET and HEAD only), rebuilt when the store changes.

    With --json: one JSON line once listening (its url), one when stopped.
    """

    def ready(serving: Any) -> None:
        if not serving.loopback:  # warned once bound: a host it cannot listen on is one error line
            click.echo(
                f"warning: listening on {host}: anyone who can reach it can read this dashboard (there is no login)",
                err=True,
            )
        if as_json:
            emit_json_line(state, serving)
        else:
            click.echo(
                f"serving the dashboard of {serving.project} on {serving.url} (read-only); Ctrl-C stops", err=True
            )

    with stop_on_sigterm() as stop:
        stopped = state.project.serve_dashboard(host, port, on_ready=ready, stop=stop)
    if as_json:
        emit_json_line(state, stopped)
    else:
        click.echo("dashboard server: stopped", err=True)


@contextlib.contextmanager
def progress_display(enabled: bool) -> Iterator[Any]:
    """The current stage, then a bar with rows done and an ETA, on a terminal only (see progress.py)."""
    from .progress import display

    with display(as_json=not enabled) as bar:
        yield bar


@cli.command()
@click.argument("model")
@click.argument("input_data", metavar="INPUT")
@click.argument("output", metavar="OUTPUT")
@click.option("--version", "version", type=int, metavar="N", help="Score with version N (default: the active one).")
@click.option(
    "--log/--no-log",
    "log",
    default=None,
    help="Log the scored ids and predictions for labels that arrive later (default: the model's prediction_log).",
)
@json_option
@pass_state
def score(
    state: State, model: str, input_data: str, output: str, version: int | None, log: bool | None, as_json: bool
) -> None:
    """Score INPUT (a dataset name, path or URL) with MODEL and write OUTPUT (format from its suffix).

    Paths are relative to the current folder. OUTPUT appears only once it is complete.
    """
    input_data, output = cli_path(state, input_data), cli_path(state, output, dataset=False)
    with progress_display(not as_json) as progress:
        summary = state.project.score(model, input_data, output, version=version, progress=progress, log=log)
    if as_json:
        emit_json(state, summary)
    else:
        message = f"scored {summary['rows']:,} rows with {model} version {summary['version']} → {summary['output']}"
        if summary.get("logged"):
            message += f" (logged {summary['logged']['rows']} predictions by id)"
        click.echo(state.redact(message))


@cli.command()
@click.argument("model")
@json_option
@pass_state
def versions(state: State, model: str, as_json: bool) -> None:
    """List a model's versions with their metrics; * marks the active one."""
    found = state.project.versions(model)
    if as_json:
        emit_json(state, found)
        return
    if not found:
        click.echo(f"model '{model}' has no versions yet: run 'modelcycle train {model}'")
        return
    deleted = sum(bool(v.deleted) for v in found)
    table(
        state,
        f"{model}: {plural(len(found), 'version')}" + (f" ({deleted} deleted by gc)" if deleted else ""),
        ["", "version", "created_at", "by", "metrics"],
        [
            [
                "*" if v.active else ("deleted" if v.deleted else ""),
                v.version,
                v.created_at[:19],
                v.created_by or "-",
                format_metrics(v.metrics, limit=100, leading=found.leading_metrics) or "-",
            ]
            for v in found
        ],
        wrap=("metrics",),
        hint="see every field with 'modelcycle show MODEL VERSION' or --json",
    )
    click.echo("* active" + ("; deleted: its artifact was removed by gc" if deleted else ""))


@cli.command()
@click.argument("model")
@click.argument("a", type=int)
@click.argument("b", type=int)
@click.option("--data", metavar="DATA", help="Compare on this labelled dataset (name, path or URL).")
@click.option(
    "--resamples",
    type=click.IntRange(min=100, max=100_000),
    metavar="N",
    help="Bootstrap resamples (default: activation.resamples).",
)
@click.option("--html", "html", metavar="FILE", help="Also write the comparison as a self-contained HTML page.")
@json_option
@pass_state
def compare(
    state: State, model: str, a: int, b: int, data: str | None, resamples: int | None, html: str | None, as_json: bool
) -> None:
    """Versions A and B of MODEL side by side, on labelled rows neither was trained on."""
    data = None if data is None else cli_path(state, data)
    result = state.project.compare(model, a, b, data=data, resamples=resamples, html=html)
    if as_json:
        emit_json(state, result)
        return
    from rich.console import Console

    from .compare_output import print_comparison

    print_comparison(result, Console(highlight=False))
    if result.html is not None:
        click.echo(state.redact(f"compare page written to {result.html}"))


@cli.command()
@click.argument("model")
@click.argument("version", type=int, required=False)
@json_option
@pass_state
def show(state: State, model: str, version: int | None, as_json: bool) -> None:
    """One version's metadata and lineage (default: the active version)."""
    meta = state.project.show(model, version)
    if as_json:
        emit_json(state, meta)
        return
    dataset = meta.get("dataset") or {}
    artifact = meta.get("artifact") or {}
    lines = [
        f"{model} version {meta['version']}"
        + ("  (active)" if meta["active"] else "")
        + ("  (deleted by gc: metadata only, it cannot be loaded)" if meta.get("deleted") else ""),
        f"  created      {meta['created_at']} by {meta.get('created_by') or '-'}",
        f"  parent       {meta.get('parent_version') or '-'}",
        f"  trainer      {meta.get('trainer') or '-'}  {meta.get('estimator') or ''}".rstrip(),
        f"  dataset      {dataset.get('name') or '-'}  {dataset.get('url') or ''}".rstrip(),
        f"  fingerprint  {dataset.get('fingerprint') or '-'}  rows={_cell(dataset.get('rows'))}",
        f"  settings     {meta.get('settings_hash') or '-'}",
        f"  git commit   {meta.get('git_commit') or '-'}",
        f"  artifact     {artifact.get('format') or '-'}  sha256={artifact.get('sha256') or '-'}",
        f"  metrics      {format_metrics(meta.get('metrics'), limit=20, leading=[meta.get('primary_metric')]) or '-'}",
    ]
    libraries = meta.get("libraries") or {}
    if libraries:
        lines.append("  libraries    " + " ".join(f"{k}={v}" for k, v in libraries.items()))
    click.echo(state.redact("\n".join(lines)))
    activations = meta["activations"][-5:]
    if activations:
        click.echo("  activations (latest last):")
        for a in activations:
            click.echo(
                state.redact(
                    f"    #{a['seq']} {a['at'][:19]} v{a['previous'] or '-'} -> v{a['version']} "
                    f"{a['kind']} by {a['actor']}" + (f": {a['reason']}" if a.get("reason") else "")
                )
            )


@cli.command()
@click.argument("model")
@click.argument("version", type=int)
@click.option("--reason", help="Why: kept in the activation log.")
@json_option
@pass_state
def activate(state: State, model: str, version: int, reason: str | None, as_json: bool) -> None:
    """Make VERSION the active version of MODEL."""
    entry = state.project.activate(model, version, reason=reason)
    if as_json:
        emit_json(state, entry)
    else:
        if entry["previous"] == entry["version"]:  # allowed, and logged: see docs/concepts.md
            was = "it already was; the activation log records this activation too"
        else:
            was = f"was {entry['previous'] or 'none'}"
        click.echo(f"{model}: version {entry['version']} is active ({was})")


@cli.command()
@click.argument("model")
@click.option("--reason", help="Why: kept in the activation log.")
@json_option
@pass_state
def rollback(state: State, model: str, reason: str | None, as_json: bool) -> None:
    """Re-activate the version that was active before the current one."""
    entry = state.project.rollback(model, reason=reason)
    if as_json:
        emit_json(state, entry)
    else:
        click.echo(f"{model}: rolled back to version {entry['version']} (was {entry['previous']})")


@cli.command()
@click.argument("model")
@click.option("--keep", type=click.IntRange(min=1), required=True, help="Keep the newest N versions.")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
@json_option
@pass_state
def gc(state: State, model: str, keep: int, dry_run: bool, as_json: bool) -> None:
    """Delete versions beyond the newest N (never the active one, nor one of the last 5
    activations) and what crashed writers left."""
    report = state.project.gc(model, keep=keep, dry_run=dry_run)
    if as_json:
        emit_json(state, report)
        return
    verb = "would delete" if dry_run else "deleted"
    versions = ", ".join(f"v{v}" for v in report["deleted_versions"]) or "no versions"
    click.echo(
        f"{model}: {verb} {versions} and {plural(len(report['orphans']), 'orphaned object')} "
        f"(protected: {', '.join(f'v{v}' for v in report['protected_versions']) or 'none'})"
    )


@cli.command()
@json_option
@pass_state
def plugins(state: State, as_json: bool) -> None:
    """Plugins loaded, where they came from, their hooks and what each registers."""
    found = state.project.describe_plugins()
    if as_json:
        emit_json(state, [p.to_json() for p in found])
        return
    table(
        state,
        None,
        ["plugin", "source", "registers", "hooks"],
        [
            [
                p["name"],
                p["source"],
                "; ".join(f"{k}: {', '.join(v)}" for k, v in p["registers"].items()),
                ", ".join(h for h in p["hooks"] if not h.startswith("register_")),
            ]
            for p in found
        ],
        wrap=("registers", "hooks"),
    )


def _finite(value: float, option: str) -> float:
    if value != value:  # nan passes every range check
        raise click.BadParameter(f"{option} must be a number of seconds, not nan")
    return value


def fail(message: str, verbose: bool, code: int = 2) -> NoReturn:
    if verbose:
        traceback.print_exc()
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _verbose(args: list[str]) -> bool:
    """-v/--verbose among the options before the command name."""
    values = iter(args)
    for arg in values:
        if arg in ("-v", "--verbose"):
            return True
        if arg in ("--project", "--log-level"):  # their value is not the command name
            next(values, None)
            continue
        if not arg.startswith("-"):
            return False
    return False


def _command_path(args: list[str]) -> str:
    """'modelcycle history': the command the arguments name, for an error click raised without
    its context (an option missing its value)."""
    command: click.Command = cli
    path = ["modelcycle"]
    values = iter(args)
    for arg in values:
        if arg in ("--project", "--log-level"):
            next(values, None)
        elif not arg.startswith("-") and isinstance(command, click.Group) and arg in command.commands:
            command = command.commands[arg]
            path.append(arg)
        elif not arg.startswith("-"):
            break
    return " ".join(path)


def _one_line_warning(message: Warning | str, category: type[Warning], *_: Any, **__: Any) -> None:
    click.echo(f"warning: {message}", err=True)


def console() -> None:
    """The `modelcycle` command: main(), then exit without the interpreter's teardown (leaving.py)."""
    from .leaving import run_and_leave

    run_and_leave(main)


def main(argv: list[str] | None = None) -> None:
    """Entry point: every user error is one `error: …` line and exit status 2.

    Everything written to stdout and stderr meanwhile (tracebacks and warnings included)
    passes through the redactor of every secret the settings interpolated. With
    _MODELCYCLE_COMPLETE set, the shell is asking for completions or for its completion
    script (docs/cli.md): click answers, before any project is opened.
    """
    import os

    instruction = os.environ.get("_MODELCYCLE_COMPLETE")
    if instruction:
        from click.shell_completion import get_completion_class, shell_complete

        shell, _, action = instruction.partition("_")
        if get_completion_class(shell) is None or action not in ("source", "complete"):
            click.echo(
                f"error: _MODELCYCLE_COMPLETE={instruction!r} is not a completion request: "
                "use bash_source, zsh_source or fish_source (see docs/cli.md)",
                err=True,
            )
            sys.exit(2)
        sys.exit(shell_complete(cli, {}, "modelcycle", "_MODELCYCLE_COMPLETE", instruction))

    from .redaction import PROCESS, RedactedStream

    streams = sys.stdout, sys.stderr
    if sys.stdout is not None and sys.stderr is not None:
        sys.stdout, sys.stderr = RedactedStream(sys.stdout, PROCESS.text), RedactedStream(sys.stderr, PROCESS.text)
    try:
        _main(argv)
    except BrokenPipeError:  # `modelcycle history m | head` stopped reading: not an error of ours
        _quiet(streams[0])
        sys.exit(1)
    except Exception:  # a bug: its traceback, as Python prints it, but through the redactor
        traceback.print_exc()
        sys.exit(1)
    finally:
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, RedactedStream):
                with contextlib.suppress(Exception):
                    stream.flush()
        sys.stdout, sys.stderr = streams


def _quiet(stdout: Any) -> None:
    """Point stdout's file at the null device, so that flushing at exit does not hit the closed
    pipe again (what Python's signal docs advise for SIGPIPE)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        fileno = stdout.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fileno)


def _main(argv: list[str] | None) -> None:
    args = sys.argv[1:] if argv is None else argv
    verbose = _verbose(args)
    warnings.showwarning = _one_line_warning
    ctx: click.Context | None = None
    try:
        with cli.make_context("modelcycle", list(args)) as ctx:
            result = cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else "modelcycle --help")
        sys.exit(0)
    except click.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else _command_path(args)
        message = exc.format_message().rstrip(".").replace(". Did you mean", "; did you mean")
        message = message[0].lower() + message[1:] if message else "bad usage"
        fail(f"{message}; see '{where} --help'", verbose)
    except click.ClickException as exc:
        fail(exc.format_message(), verbose)
    except click.Abort:
        fail("aborted", verbose, code=130)
    except ModelcycleError as exc:
        state = ctx.obj if ctx is not None else None
        message = str(exc).replace("\n", " ")
        fail(state.redact(message) if state else message, verbose, code=exc.exit_code)
    except KeyboardInterrupt:
        fail("interrupted", verbose, code=130)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
