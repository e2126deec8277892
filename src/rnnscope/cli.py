"""Command line: ``rnnscope demo``, ``run SPEC``, ``sweep SPEC``, ``show RUN``, ``report RUN``, ``query SQL``,
``analyze RUN``, ``reproduce NAME``.

Trace of ``rnnscope run spec.toml``: :func:`run` -> ``spec.load_spec`` ->
``runner.run_local`` -> ``runner.plan`` (members, chunks) -> ``runner.run_chunk``
-> ``train.train_population`` (the compiled program) -> ``store.write_chunk``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .spec import SpecError, load_spec

HELP = """rnnscope: train populations of recurrent networks and measure how they learn long time scales.

\b
Examples:
  rnnscope demo                              # capacity ladder, report at runs/demo/report.html
  rnnscope run examples/elman_grid.toml      # train a spec into runs/elman-grid
  rnnscope show elman-grid                   # summary per grid cell (--json for scripts)
  rnnscope report elman-grid                 # runs/elman-grid/report.html
  rnnscope reproduce --list                  # published results and their last result here
  rnnscope reproduce integrate-rich --quick  # check a paper's claims in minutes
"""

app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP, rich_markup_mode=None)
console = Console()
if not console.is_terminal:
    console.width = 160  # piped output: tables keep their column names
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    err_console.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


class RichProgress:
    """Members done, member-steps per second and ETA for a run."""

    def __init__(self):
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[members]}"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.task = None
        self.members_done = 0
        self.todo = 0

    def start(self, total: int, todo: int, steps: int):
        self.todo = todo
        if total > todo:
            console.print(f"{total - todo} of {total} members already stored: skipped")
        self.bar.start()
        self.task = self.bar.add_task("training", total=max(todo * steps, 1), members=f"0/{todo} members", rate="")

    def advance(self, member_steps: int):
        self.bar.advance(self.task, member_steps)
        speed = self.bar.tasks[self.task].speed
        if speed:
            self.bar.update(self.task, rate=f"{speed:,.0f} member-steps/s")

    def chunk_done(self, n: int):
        self.members_done += n
        self.bar.update(self.task, members=f"{self.members_done}/{self.todo} members")

    def stop(self):
        if self.task is not None:
            self.bar.stop()


def resolve_run(run_ref: str, root: Path) -> Path:
    """The run directory of ``run_ref`` (a path or an experiment name under ``root``), checked readable."""
    from .store import Store, StoreError

    path = Path(run_ref)
    for candidate in (path, root / run_ref):
        if (candidate / "members").exists():
            try:
                Store(candidate).check_readable()
            except StoreError as err:
                fail(str(err), code=1)
            return candidate
    fail(f"run {run_ref!r}: no results at {path} or {root / run_ref}")


#: a spec expanding to more members than this runs only with --yes
LARGE_RUN = 100_000


def _load(spec_path: Path, yes: bool = True):
    from .spec import member_count

    try:
        spec = load_spec(spec_path)
    except SpecError as err:
        fail(str(err))
    if not yes and member_count(spec) > LARGE_RUN:
        fail(f"{spec_path}: the spec expands to {member_count(spec):,} members (more than {LARGE_RUN:,}); "
             "check the grid and seeds, and pass --yes to run it")
    return spec


def _train(spec, target, train) -> None:
    """Run ``train(spec, store, progress)`` with progress, one-line errors and a resumable Ctrl-C."""
    from .store import StoreError

    progress = RichProgress()
    try:
        # planning (which checks every task's arguments) happens before any training
        summary = train(spec, target, progress)
    except SpecError as err:
        fail(str(err))
    except StoreError as err:
        progress.stop()
        fail(str(err), code=1)
    except OSError as err:
        progress.stop()
        fail(f"cannot write to {target.root}: {err.strerror or err} ({err.filename or 'store'}); the chunks finished "
             "before are kept, and rerunning the spec resumes once the store is writable", code=1)
    except KeyboardInterrupt:
        progress.stop()
        fail(f"interrupted; finished chunks are kept in {target.root} and a rerun resumes", code=130)
    finally:
        progress.stop()
    for chunk in summary.get("quarantined", []):
        err_console.print(f"warning: chunk {chunk} of {target.root} was unreadable: moved aside as *.corrupt and its "
                          "members trained again", markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"{summary['trained']} members trained, {summary['skipped']} already stored; "
        f"results in {target.root} (members, trajectories); try: rnnscope show {target.root}",
        soft_wrap=True,
    )


@app.command()
def run(
    spec_path: Path = typer.Argument(..., help="experiment spec (TOML)"),
    store: Path = typer.Option(Path("runs"), "--store", help="directory holding run stores"),
    yes: bool = typer.Option(False, "--yes", help=f"run a spec of more than {LARGE_RUN:,} members"),
):
    """Train every member of a spec (skipping members already stored) and store the results.

    \b
    Example: rnnscope run examples/elman_grid.toml --store runs
    """
    from .runner import run_local
    from .store import Store

    spec = _load(spec_path, yes)
    _train(spec, Store(store / spec.name), run_local)


def _print_plan(spec, target, calibrate: bool) -> None:
    from .runner import plan
    from .runner.estimate import estimate, group_label
    from .runner.plan import stored_members
    from .store import StoreError

    try:
        chunks, total = plan(spec, stored_members(spec, target))
    except SpecError as err:
        fail(str(err))
    except StoreError as err:
        fail(str(err), code=1)
    todo = sum(len(c.members) for c in chunks)
    console.print(f"{spec.name}: {total} members ({len(spec.seeds)} seeds per cell), {total - todo} already stored, "
                  f"{todo} to train in {len(chunks)} chunks", soft_wrap=True)
    if not chunks:
        return
    table = Table()
    for col in ("shape (one compilation)", "members", "chunks", "compile s", "s per step", "projected"):
        table.add_column(col)
    if calibrate:
        with console.status("calibrating each shape on a few steps ..."):
            est = estimate(chunks)
        for g in est.groups:
            table.add_row(g.label, str(g.members), str(g.chunks), f"{g.compile_s:.1f}", f"{g.step_s:.2e}",
                          f"{g.seconds / 60:.1f} min")
        console.print(table)
        console.print(f"projected training time on this machine: {est.seconds / 60:.1f} min "
                      f"(calibration took {est.calibration_s:.0f} s; a projection, not a measurement)", soft_wrap=True)
    else:
        groups: dict[tuple, list] = {}
        for c in chunks:
            groups.setdefault(c.static, []).append(c)
        for static, cs in groups.items():
            table.add_row(group_label(static), str(sum(len(c.members) for c in cs)), str(len(cs)), "-", "-", "-")
        console.print(table)


@app.command()
def sweep(
    spec_path: Path = typer.Argument(..., help="factorial spec (TOML) with a [grid] table"),
    store: Path = typer.Option(Path("runs"), "--store", help="directory holding run stores"),
    plan_only: bool = typer.Option(False, "--plan", help="print members, chunks and a calibrated time estimate; "
                                   "train nothing"),
    no_calibrate: bool = typer.Option(False, "--no-calibrate", help="with --plan: skip the calibration run"),
    runner: str = typer.Option("local", "--runner", help="local (this process) or ray (one Ray task per chunk)"),
    address: str = typer.Option(None, "--address", help="Ray cluster address; default: start a local Ray instance"),
    yes: bool = typer.Option(False, "--yes", help=f"run a spec of more than {LARGE_RUN:,} members"),
):
    """Plan a factorial spec, then train every member not yet stored, locally or on a Ray cluster.

    A sweep that was interrupted (Ctrl-C, kill -9, a lost worker) resumes when run again
    and ends with every member stored exactly once.

    \b
    Examples: rnnscope sweep examples/johnston_latch.toml --plan
              rnnscope sweep examples/johnston_latch.toml --runner ray
    """
    from .store import Store

    spec = _load(spec_path, yes or plan_only)
    target = Store(store / spec.name)
    if plan_only:
        _print_plan(spec, target, calibrate=not no_calibrate)
        return
    if runner == "local":
        from .runner import run_local as train
    elif runner == "ray":
        from .runner.ray_runner import run_ray

        def train(spec, target, progress):
            return run_ray(spec, target, address, progress)
    else:
        fail(f"--runner {runner!r}: allowed local, ray")
    _train(spec, target, train)


@app.command()
def show(
    run_ref: str = typer.Argument(..., help="run directory, or experiment name under --store"),
    store: Path = typer.Option(Path("runs"), "--store"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON (for scripts)"),
):
    """Summary table of a run: members, divergence and final loss per grid cell.

    \b
    Examples: rnnscope show elman-grid
              rnnscope show runs/elman-grid --json | jq '.cells[0]'
    """
    from .store import Store

    st = Store(resolve_run(run_ref, store))
    with st.connect() as con:
        cols = [r[0] for r in con.execute("DESCRIBE members").fetchall()]
        factors = [c for c in cols if c.startswith(("task_", "model_", "optimizer_"))]
        varying = [c for c in factors if con.execute(f'SELECT COUNT(DISTINCT "{c}") FROM members').fetchone()[0] > 1]
        group = ", ".join(f'"{c}"' for c in varying) or "experiment"
        sql = (
            f"SELECT {group}, COUNT(*) AS members, SUM(diverged::INT) AS diverged, "
            "median(final_loss) FILTER (WHERE NOT diverged) AS median_final_loss, "
            "min(final_loss) FILTER (WHERE NOT diverged) AS best_final_loss "
            f"FROM members GROUP BY {group} ORDER BY {group}"
        )
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        total = con.execute("SELECT COUNT(*), SUM(diverged::INT) FROM members").fetchone()
        codes = code_versions(con, cols)
    if len(codes) > 1:
        err_console.print(f"warning: {st.root} mixes members computed by {len(codes)} versions of the code: "
                          + "; ".join(codes), markup=False, highlight=False, soft_wrap=True)
    if as_json:
        cells = [dict(zip(names, (None if isinstance(v, float) and v != v else v for v in r))) for r in rows]
        print(json.dumps({"run": str(st.root), "members": total[0], "diverged": total[1], "cells": cells,
                          "code_versions": codes}, default=str))
        return
    console.print(f"{st.root}: {total[0]} members, {total[1]} diverged", soft_wrap=True)
    table = Table()
    for n in names:
        table.add_column(n)
    for r in rows:
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r])
    console.print(table)


def code_versions(con, columns: list[str]) -> list[str]:
    """The distinct (rnnscope version, git commit, JAX version, platform) of a run's members, as text."""
    from .runner.provenance import PROVENANCE_COLUMNS

    present = [c for c in PROVENANCE_COLUMNS if c in columns]
    if not present:
        return []
    columns = ", ".join(present)
    rows = con.execute(f"SELECT {columns}, COUNT(*) FROM members GROUP BY ALL ORDER BY ALL").fetchall()
    return [", ".join(f"{c} {v}" for c, v in zip(present, r[:-1]) if v) + f" ({r[-1]} members)" for r in rows]


def _frame_table(frame, columns=None, digits: int = 4) -> Table:
    table = Table()
    columns = list(columns or frame.columns)
    for c in columns:
        table.add_column(str(c), overflow="fold")
    for _, row in frame[columns].iterrows():
        table.add_row(*[f"{v:.{digits}g}" if isinstance(v, float) else str(v) for v in row])
    return table


VEG_INPUTS = ("success", "credit_ratio_median", "grad_norm_max", "grad_norm_initial")


@app.command()
def analyze(
    run_ref: str = typer.Argument(..., help="run directory, or experiment name under --store"),
    store: Path = typer.Option(Path("runs"), "--store"),
    vg: float = typer.Option(1e-6, "--vg", help="vanishing: median credit ratio below this"),
    eg: float = typer.Option(1e3, "--eg", help="exploding: max gradient norm above this times its initial value"),
    out: Path = typer.Option(None, "--out", help="where the tables go (default RUN/analysis)"),
):
    """Does vanishing/exploding gradient predict failure? Incidence, logistic regression and factor importance.

    Needs a sweep that recorded the probes grad_norm and credit_ratio (nonfinite_grad too, if
    possible) on a task with a success criterion (latch, adding). Factors are the config
    columns that vary across members.

    \b
    Example: rnnscope analyze johnston --store runs
    """
    from .analysis import factorial
    from .store import Store

    root = resolve_run(run_ref, store)
    with Store(root).connect() as con:
        table = con.execute("SELECT * FROM members").df()
    missing = [c for c in VEG_INPUTS if c not in table.columns]
    if missing:
        fail(f"analyze: the members table has no {', '.join(missing)} (record the probes grad_norm and "
             "credit_ratio on a task with a success criterion)")
    table = table[table["success"].notna()].copy()
    table["success"] = table["success"].astype(bool)
    table["nonfinite"] = table.get("nonfinite_grad_sum", 0).fillna(0) + table["diverged"].astype(int)
    factors = [c for c in table.columns if c.startswith(("task_", "model_", "optimizer_")) and table[c].nunique() > 1]
    with console.status(f"fitting {len(table)} members ..."):
        result = factorial.analyze_sweep(table, factors, vg, eg)
    target = out or root / "analysis"
    target.mkdir(parents=True, exist_ok=True)
    f = result.flags
    console.print(f"{root}: {f.n} members, VG {f.n_vg}, EG {f.n_eg}, VEG {f.n_veg} (VG: credit ratio < {vg:g}; "
                  f"EG: max grad norm > {eg:g} x initial or non-finite); factors: {', '.join(factors)}",
                  soft_wrap=True)
    sections = {"incidence": result.incidence, "regression": result.regression, "importance": result.importance}
    for name, part in sections.items():
        frame = part.terms if name == "regression" and part.resolved else part.to_frame() if part.resolved else None
        if frame is None:
            console.print(f"{name}: unresolved: {part.reason}", soft_wrap=True)
            continue
        frame.to_csv(target / f"{name}.csv", index=False)
        shown = {"incidence": ["cell", "n", "n_flag", "p_success_flag", "p_success_noflag", "p_flag_success",
                               "p_flag_failure"],
                 "regression": ["term", "odds_ratio", "or_lo", "or_hi", "p", "note"],
                 "importance": ["term", "df", "lr_stat", "p_holm", "deviance_share", "rank"]}[name]
        console.print(f"[bold]{name}[/bold]")
        console.print(_frame_table(frame, [c for c in shown if c in frame.columns]))
    console.print(f"tables in {target}", soft_wrap=True)


@app.command()
def query(
    sql: str = typer.Argument(..., help="DuckDB SQL over the views `members` and `trajectories`"),
    run_ref: str = typer.Option(None, "--run", help="run directory or experiment name; default: the only run"),
    store: Path = typer.Option(Path("runs"), "--store"),
):
    """Run DuckDB SQL on a run's store and print the result.

    \b
    Example: rnnscope query "SELECT optimizer_lr, avg(final_loss) FROM members GROUP BY 1" --run elman-grid
    """
    import duckdb

    from .store import Store

    if run_ref is None:
        runs = sorted(p.parent for p in store.glob("*/members"))
        if len(runs) != 1:
            fail(f"--run is needed: {len(runs)} runs under {store}")
        root = resolve_run(str(runs[0]), store)
    else:
        root = resolve_run(run_ref, store)
    try:
        cols, rows = Store(root).query(sql)
    except duckdb.Error as err:
        fail(f"query failed: {str(err).splitlines()[0]}")
    table = Table()
    for c in cols:
        table.add_column(c)
    for r in rows:
        table.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in r])
    console.print(table)


def claims_table(claims) -> Table:
    table = Table()
    for col in ("claim", "expected", "measured", "pass"):
        table.add_column(col, overflow="fold")
    for c in claims:
        table.add_row(c.claim, c.expected, c.measured, "[green]yes[/green]" if c.passed else "[red]NO[/red]")
    return table


def _last_result_text(result: dict | None) -> str:
    if result is None:
        return "not run here yet"
    return (f"{result['profile']}: {result['passed']}/{result['claims']} claims pass, {result['wall_s']:.0f} s "
            f"({result['finished'][:10]})")


@app.command()
def reproduce(
    name: str = typer.Argument(None, help="reproduction name; see --list"),
    quick: bool = typer.Option(False, "--quick", help="smaller configuration that checks every claim in minutes"),
    profile: str = typer.Option(None, "--profile", help="sizes to run at: quick, default, or (where offered) paper"),
    list_all: bool = typer.Option(False, "--list", help="list the reproductions with their last result and exit"),
    out: Path = typer.Option(Path("runs"), "--out", help="figures, claims.json and result.json go to OUT/NAME"),
    as_json: bool = typer.Option(False, "--json", help="print the claims (or with --list, the list) as JSON"),
):
    """Run a published study's experiment and check its claims (exit 1 if any claim fails).

    The last result of each reproduction (profile, claims passed, runtime on this
    machine) is kept in OUT/NAME/result.json and shown by --list.

    \b
    Examples: rnnscope reproduce --list
              rnnscope reproduce integrate-rich --quick
              rnnscope reproduce anticollapse-ladder --profile default --json
    """
    from .experiments import REPRODUCTIONS, last_result, run_reproduction

    if list_all or name is None:
        entries = [{"name": r.name, "paper": r.paper, "summary": r.summary, "profiles": list(r.profiles),
                    "last_result": last_result(out / r.name)} for r in REPRODUCTIONS.values()]
        if as_json:
            print(json.dumps(entries))
            return
        table = Table()
        for col in ("name", "paper", "what it shows", "profiles", f"last result here (in {out})"):
            table.add_column(col, overflow="fold")
        for e in entries:
            table.add_row(e["name"], e["paper"], e["summary"], ", ".join(e["profiles"]),
                          _last_result_text(e["last_result"]))
        console.print(table)
        return
    if name not in REPRODUCTIONS:
        fail(f"reproduce: {name!r} is not a reproduction; allowed {', '.join(REPRODUCTIONS)}")
    repro = REPRODUCTIONS[name]
    if quick and profile not in (None, "quick"):
        fail(f"reproduce: --quick and --profile {profile} contradict each other")
    profile = "quick" if quick else profile or "default"
    if profile not in repro.profiles:
        fail(f"reproduce: {name} has no profile {profile!r}; allowed {', '.join(repro.profiles)}")
    if as_json:
        done = run_reproduction(repro, profile, out / name)
    else:
        with console.status(f"running {name} ({profile}) ..."):
            done = run_reproduction(repro, profile, out / name)
    claims = done.outcome.claims
    passed = sum(c.passed for c in claims)
    if as_json:
        print(json.dumps({**last_result(done.out), "out": str(done.out),
                          "claims_table": [c._asdict() for c in claims],
                          "figures": [str(f) for f in done.outcome.figures]}))
    else:
        console.print(f"{name}: {repro.paper}")
        console.print(claims_table(claims))
        console.print(f"{passed}/{len(claims)} claims pass in {done.wall_s:.0f} s; figures and claims.json in "
                      f"{done.out}; report: rnnscope report {done.out}", soft_wrap=True)
    if passed < len(claims):
        raise typer.Exit(1)


@app.command()
def report(
    run_ref: str = typer.Argument(..., help="run or reproduction directory, or experiment name under --store"),
    store: Path = typer.Option(Path("runs"), "--store"),
):
    """Write RUN/report.html: spec, claims, figures for the probes recorded, sortable members table.

    Figures are also written as PNG under RUN/figures.

    \b
    Examples: rnnscope report elman-grid
              rnnscope report runs/integrate-rich
    """
    from .report.html import build_report
    from .store import Store, StoreError

    path = Path(run_ref)
    root = path if path.is_dir() else store / run_ref
    if not root.is_dir():
        fail(f"report: no run directory at {path} or {root}")
    with console.status(f"measuring and drawing {root} ..."):
        try:
            Store(root).check_readable()
            page = build_report(root)
        except FileNotFoundError as err:
            fail(f"report: {err}")
        except StoreError as err:
            fail(f"report: {err}", code=1)
    console.print(f"report: {page}", soft_wrap=True)


@app.command()
def demo(
    store: Path = typer.Option(Path("runs"), "--store", help="the demo writes STORE/demo"),
):
    """The main job: how do gated RNNs forget? Train, measure, reproduce, report.

    Trains the capacity ladder (ConstGate, SharedGate, DiagGate, GRU, LSTM; 3 seeds
    each) on the heavy-tailed-lag task, measures forgetting envelopes, tau spectra,
    beta, alpha and phases, runs the quick integrator reproduction, and writes
    STORE/demo/report.html. About 5 minutes on 2 cores; rerunning resumes.

    \b
    Example: rnnscope demo --store runs
    """
    from .demo import run_demo
    from .store import StoreError

    progress = RichProgress()
    try:
        result = run_demo(store, progress, stage=lambda text: (progress.stop(), console.print(f"[bold]{text}")))
    except StoreError as err:
        progress.stop()
        fail(str(err), code=1)
    except OSError as err:
        progress.stop()
        fail(f"cannot write under {store}: {err.strerror or err} ({err.filename or 'store'}); rerunning resumes",
             code=1)
    except KeyboardInterrupt:
        progress.stop()
        fail(f"interrupted; finished chunks are kept in {store / 'demo'} and a rerun resumes", code=130)
    finally:
        progress.stop()
    console.print(_frame_table(result.summary, digits=3))
    for done in result.reproductions:
        claims = done.outcome.claims
        console.print(f"{done.out.name} (quick): {sum(c.passed for c in claims)}/{len(claims)} claims pass "
                      f"in {done.wall_s:.0f} s", soft_wrap=True)
    console.print(f"report: {result.report}", soft_wrap=True)


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
