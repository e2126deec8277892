"""Command line: ``rnnscope run SPEC.toml``, ``rnnscope sweep SPEC.toml``, ``rnnscope show RUN``, ``rnnscope query SQL``.

Trace of ``rnnscope run spec.toml``: :func:`run` -> ``spec.load_spec`` ->
``runner.run_local`` -> ``runner.plan`` (members, chunks) -> ``runner.run_chunk``
-> ``train.train_population`` (the compiled program) -> ``store.write_chunk``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .spec import SpecError, load_spec

app = typer.Typer(add_completion=False, no_args_is_help=True, help="rnnscope: populations of recurrent networks.")
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
    path = Path(run_ref)
    if (path / "members").exists():
        return path
    if (root / run_ref / "members").exists():
        return root / run_ref
    fail(f"run {run_ref!r}: no results at {path} or {root / run_ref}")


def _load(spec_path: Path):
    try:
        return load_spec(spec_path)
    except SpecError as err:
        fail(str(err))


def _train(spec, target, train) -> None:
    """Run ``train(spec, store, progress)`` with progress, one-line errors and a resumable Ctrl-C."""
    progress = RichProgress()
    try:
        # planning (which checks every task's arguments) happens before any training
        summary = train(spec, target, progress)
    except SpecError as err:
        fail(str(err))
    except KeyboardInterrupt:
        progress.stop()
        fail(f"interrupted; finished chunks are kept in {target.root} and a rerun resumes", code=130)
    finally:
        progress.stop()
    console.print(
        f"{summary['trained']} members trained, {summary['skipped']} already stored; "
        f"results in {target.root} (members, trajectories); try: rnnscope show {target.root}",
        soft_wrap=True,
    )


@app.command()
def run(
    spec_path: Path = typer.Argument(..., help="experiment spec (TOML)"),
    store: Path = typer.Option(Path("runs"), "--store", help="directory holding run stores"),
):
    """Train every member of a spec (skipping members already stored) and store the results.

    Example: rnnscope run examples/demo.toml --store runs
    """
    from .runner import run_local
    from .store import Store

    spec = _load(spec_path)
    _train(spec, Store(store / spec.name), run_local)


def _print_plan(spec, target, calibrate: bool) -> None:
    from .runner import plan
    from .runner.estimate import estimate, group_label

    try:
        chunks, total = plan(spec, target.member_ids())
    except SpecError as err:
        fail(str(err))
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
        groups: dict[str, list] = {}
        for c in chunks:
            groups.setdefault(group_label(c.static), []).append(c)
        for label, cs in groups.items():
            table.add_row(label, str(sum(len(c.members) for c in cs)), str(len(cs)), "-", "-", "-")
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
):
    """Plan a factorial spec, then train every member not yet stored, locally or on a Ray cluster.

    A sweep that was interrupted (Ctrl-C, kill -9, a lost worker) resumes when run again
    and ends with every member stored exactly once.

    Examples: rnnscope sweep examples/johnston_latch.toml --plan
              rnnscope sweep examples/johnston_latch.toml --runner ray
    """
    from .store import Store

    spec = _load(spec_path)
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
):
    """Summary table of a run: members, divergence and final loss per grid cell."""
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
    console.print(f"{st.root}: {total[0]} members, {total[1]} diverged", soft_wrap=True)
    table = Table()
    for n in names:
        table.add_column(n)
    for r in rows:
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in r])
    console.print(table)


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
    """Run DuckDB SQL on a run's store and print the result."""
    import duckdb

    from .store import Store

    if run_ref is None:
        runs = sorted(p.parent for p in store.glob("*/members"))
        if len(runs) != 1:
            fail(f"--run is needed: {len(runs)} runs under {store}")
        root = runs[0]
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


@app.command()
def reproduce(
    name: str = typer.Argument(None, help="reproduction name; see --list"),
    quick: bool = typer.Option(False, "--quick", help="smaller configuration that checks every claim in minutes"),
    profile: str = typer.Option(None, "--profile", help="sizes to run at: quick, default, or (where offered) paper"),
    list_all: bool = typer.Option(False, "--list", help="list the reproductions and exit"),
    out: Path = typer.Option(Path("runs"), "--out", help="figures and claims.json go to OUT/NAME"),
):
    """Run a published study's experiment and check its claims (exit 1 if any claim fails).

    Example: rnnscope reproduce integrate-rich --quick
    """
    import time

    from .experiments import REPRODUCTIONS
    from .experiments.claims import write_claims

    if list_all or name is None:
        table = Table()
        for col in ("name", "paper", "what it shows", "profiles"):
            table.add_column(col, overflow="fold")
        for r in REPRODUCTIONS.values():
            table.add_row(r.name, r.paper, r.summary, ", ".join(r.profiles))
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
    target = out / name
    target.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with console.status(f"running {name} ({profile}) ..."):
        outcome = repro.run(profile, target)
    write_claims(outcome.claims, target / "claims.json")
    console.print(f"{name}: {repro.paper}")
    console.print(claims_table(outcome.claims))
    passed = sum(c.passed for c in outcome.claims)
    console.print(
        f"{passed}/{len(outcome.claims)} claims pass in {time.perf_counter() - start:.0f} s; "
        f"figures and claims.json in {target}",
        soft_wrap=True,
    )
    if passed < len(outcome.claims):
        raise typer.Exit(1)


def main():
    app()


if __name__ == "__main__":
    sys.exit(main())
