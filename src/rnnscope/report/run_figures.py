"""The figures of a run report, chosen by the probes the run recorded.

Every function takes a loaded run (``run_data.RunData``), the members' group
labels and an output directory, writes one PNG and returns a
:class:`Figure` (path and caption), or None when the run did not record what
the figure needs. Curves are medians over the members of a grid cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..analysis import phase
from ..experiments.anticollapse.common import nan_median
from .figures import Line, Panel, cell_heatmaps, eigenvalue_grid, envelope_panel, grouped_bars, line_panels, \
    tau_ccdf_panel
from .run_data import PhaseMeasurements, RunData, trajectory

#: at most this many groups get their own curve or panel (the rest are left out, and the caption says so)
MAX_GROUPS = 12
#: probes drawn by a dedicated figure, not among the scalar curves
DEDICATED = {"loss", "envelope", "timescales", "grad_projections", "eigenvalues", "outlier"}


class Figure(NamedTuple):
    path: Path
    caption: str


def _groups(labels: pd.Series) -> dict[str, np.ndarray]:
    """Group label -> member indices, in first-seen order, at most MAX_GROUPS groups."""
    out: dict[str, list[int]] = {}
    for i, label in enumerate(labels):
        out.setdefault(label, []).append(i)
    return {k: np.asarray(v) for k, v in list(out.items())[:MAX_GROUPS]}


def _left_out(labels: pd.Series) -> str:
    extra = labels.nunique() - MAX_GROUPS
    return f" ({extra} further grid cells not drawn)" if extra > 0 else ""


def _curves(run: RunData, labels: pd.Series, probe: str) -> Panel:
    traj = trajectory(run.root, probe, run.members["member_id"].tolist())
    steps = np.maximum(traj.steps, 1)
    lines = [Line(steps, nan_median(traj.values[idx], axis=0), label, "o-", f"C{k % 10}")
             for k, (label, idx) in enumerate(_groups(labels).items())]
    positive = np.nanmin(traj.values) > 0 if np.isfinite(traj.values).any() else False
    return Panel(probe.replace("_", " "), "step", probe, lines, logx=True, logy=bool(positive))


def loss_curves(run: RunData, labels: pd.Series, out: Path) -> Figure | None:
    if "loss" not in run.probes:
        return None
    path = line_panels([_curves(run, labels, "loss")], out / "loss.png")
    return Figure(path, "Training loss (the batch of each recorded step) over training, median over the seeds of "
                        "each grid cell" + _left_out(labels))


def scalar_curves(run: RunData, labels: pd.Series, out: Path) -> Figure | None:
    """Every scalar probe other than the loss (gradient norm, spectral radius, ...) over training."""
    names = [p for p in run.probes if p not in DEDICATED]
    ids = run.members["member_id"].tolist()
    names = [p for p in names if trajectory(run.root, p, ids[:1]).values.ndim == 2]
    if not names:
        return None
    path = line_panels([_curves(run, labels, p) for p in names], out / "probes.png")
    return Figure(path, f"Scalar probes over training ({', '.join(names)}), medians per grid cell")


def eigenvalue_clouds(run: RunData, labels: pd.Series, out: Path) -> Figure | None:
    """The first member of each grid cell (columns): its state Jacobian's eigenvalues at the first, middle and
    last record (rows)."""
    if "eigenvalues" not in run.probes:
        return None
    traj = trajectory(run.root, "eigenvalues", run.members["member_id"].tolist())
    records = sorted({0, len(traj.steps) // 2, len(traj.steps) - 1})
    groups = list(_groups(labels).items())[:6]
    rows = {f"step {traj.steps[r]}": [(label, traj.values[idx[0], r, 0] + 1j * traj.values[idx[0], r, 1])
                                      for label, idx in groups] for r in records}
    path = eigenvalue_grid(rows, out / "eigenvalues.png")
    return Figure(path, "Eigenvalues of the state Jacobian at rest over training (first seed of each cell; "
                        "dashed: the unit circle, beyond which the linearised dynamics expand)")


def outlier_trajectories(run: RunData, labels: pd.Series, out: Path) -> Figure | None:
    if "outlier" not in run.probes:
        return None
    traj = trajectory(run.root, "outlier", run.members["member_id"].tolist())
    steps = np.maximum(traj.steps, 1)
    groups = _groups(labels)
    def curves(values):
        return [Line(steps, nan_median(values[idx], axis=0), label, "o-") for label, idx in groups.items()]

    re, im, count = curves(traj.values[..., 0]), curves(np.abs(traj.values[..., 1])), curves(traj.values[..., 2])
    path = line_panels([Panel("top outlier of W_h: Re λ", "step", "Re λ", re, logx=True),
                        Panel("|Im λ|", "step", "|Im λ|", im, logx=True),
                        Panel("outliers outside the bulk", "step", "count", count, logx=True)],
                       out / "outliers.png")
    return Figure(path, "Outlier eigenvalues of W_h over training (medians per cell; NaN while none has left the "
                        "bulk)")


def envelopes(phases: PhaseMeasurements, labels: pd.Series, out: Path) -> Figure | None:
    panels = []
    for label, idx in list(_groups(labels).items())[:6]:
        fitted = [i for i in idx if phases.final[i] is not None and phases.final[i].fits.resolved]
        if fitted:
            panels.append(envelope_panel(f"{label}, seed 0", phases.final[fitted[0]].fits))
    if not panels:
        return None
    path = line_panels(panels, out / "envelopes.png")
    return Figure(path, "Forgetting envelopes f(l) at the end of training on log-log axes, with the exponential, "
                        "power-law and tempered fits (Livi 2026); a power-law window means anti-collapse")


def spectra(phases: PhaseMeasurements, labels: pd.Series, out: Path) -> Figure:
    groups = _groups(labels)
    tau = {label: np.concatenate([phases.final[i].tau for i in idx if phases.final[i] is not None] or [[np.nan]])
           for label, idx in groups.items()}
    steps = np.maximum(phases.steps, 1)
    panels = [tau_ccdf_panel("final τ spectra (seeds pooled)", tau)]
    note = ""
    for name, values, title in (("β", phases.beta, "β, tail fit of the τ CCDF"),
                                ("β_env", phases.beta_env, "β_env, exponent of the mixture envelope")):
        if np.isfinite(values).any():
            lines = [Line(steps, nan_median(values[idx], axis=0), label, "o-", f"C{k % 10}")
                     for k, (label, idx) in enumerate(groups.items())]
            panels.append(Panel(title, "step", name, lines, logx=True, logy=bool(np.nanmin(values) > 0)))
        else:
            note += f" {name} is unresolved in every member (too few valid time scales in the tail)."
    path = line_panels(panels, out / "spectra.png")
    return Figure(path, "Time-scale spectra: the CCDF of the per-neuron τ at the end, and the spectral exponent "
                        "over training (β < 1: broad, the mean time scale diverges)." + note)


def phase_plane(phases: PhaseMeasurements, labels: pd.Series, out: Path) -> Figure | None:
    if not np.isfinite(phases.alpha).any():
        return None
    panels = []
    for name, beta in (("β_env", phases.beta_env), ("β (tail fit)", phases.beta)):
        if not np.isfinite(beta).any():
            continue
        lines = [Line(phases.alpha[i], beta[i], label if i == idx[0] else "", "o-", f"C{k % 10}")
                 for k, (label, idx) in enumerate(_groups(labels).items()) for i in idx]
        lines.append(Line(np.array([1.0, 2.0]), np.array([1.0, 1.0]), "β = 1", ":", "black"))
        panels.append(Panel(f"trajectories in the (α, {name}) plane", "gradient-noise α", name, lines,
                            logy=bool(np.nanmin(beta) > 0)))
    if not panels:
        return None
    path = line_panels(panels, out / "phase_plane.png")
    return Figure(path, "Each member's path through the (α, β) plane over training: α the tail index of its "
                        "gradient noise, β its spectral exponent (Livi 2026)")


def phase_counts(phases: PhaseMeasurements, labels: pd.Series, out: Path) -> Figure:
    groups = _groups(labels)
    names = sorted({("diverged" if p is None else p.label) for p in phases.final})
    counts = {n: [sum(("diverged" if phases.final[i] is None else phases.final[i].label) == n for i in idx)
                  for idx in groups.values()] for n in names}
    path = grouped_bars(list(groups), counts, out / "phases.png", "phase at the end of training", "members")
    majority = {label: phase.seed_majority([None if phases.final[i] is None else phase.coarse_label(
        phases.final[i].label) for i in idx]).label for label, idx in groups.items()}
    summary = "; ".join(f"{k}: {v}" for k, v in majority.items())
    return Figure(path, f"Phase of every member at the end of training (majority per cell: {summary})")


def sweep_heatmaps(run: RunData, out: Path) -> Figure | None:
    """Median final loss, success rate and diverged share over the first two grid factors."""
    if len(run.factors) < 2:
        return None
    m = run.members
    row_f, col_f = run.factors[:2]
    rows, cols = sorted(m[row_f].unique()), sorted(m[col_f].unique())
    panels = [("median final loss", m.pivot_table("final_loss", row_f, col_f, aggfunc="median"))]
    if m["success"].notna().any():
        panels.append(("success rate", m.assign(s=m["success"].astype(float)).pivot_table("s", row_f, col_f)))
    panels.append(("diverged share", m.assign(d=m["diverged"].astype(float)).pivot_table("d", row_f, col_f)))
    grids = [(title, table.reindex(index=rows, columns=cols).to_numpy(float)) for title, table in panels]
    others = [f for f in run.factors[2:]]
    path = cell_heatmaps(grids, [f"{r:.3g}" if isinstance(r, float) else str(r) for r in rows],
                         [f"{c:.3g}" if isinstance(c, float) else str(c) for c in cols], row_f, col_f,
                         out / "sweep.png")
    pooled = f", pooled over {', '.join(others)} and seeds" if others else ", over seeds"
    return Figure(path, f"Sweep: final metrics per cell of {row_f} x {col_f}{pooled}")


def run_figures(run: RunData, labels: pd.Series, phases: PhaseMeasurements | None, out: Path) -> list[Figure]:
    """Every figure the run's records allow, in reading order."""
    out.mkdir(parents=True, exist_ok=True)
    figures = [loss_curves(run, labels, out), sweep_heatmaps(run, out)]
    if phases is not None:
        figures += [phase_counts(phases, labels, out), envelopes(phases, labels, out), spectra(phases, labels, out),
                    phase_plane(phases, labels, out)]
    figures += [eigenvalue_clouds(run, labels, out), outlier_trajectories(run, labels, out),
                scalar_curves(run, labels, out)]
    return [f for f in figures if f is not None]
