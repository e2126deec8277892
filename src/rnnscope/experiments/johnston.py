"""``johnston-factorial`` (Johnston, Patel, Cui & Balaprakash 2025; digest papers/johnston.md).

The paper trained more than 40,000 RNNs in a factorial experiment and
reported that vanishing/exploding gradients (VEG) during training do not
reliably predict failure to learn a long-term dependency, that the learning
rate strongly affects success, and that trained networks need not latch with
hyperbolic attractors. Its full text could not be read: every factor level,
the VEG metric, its thresholds and the success criterion here are OUR
replication design (digest sections 3.3-6), exposed in ``Profile`` and in the
sweep spec this module writes (``spec.toml`` beside the figures).

Pipeline: the factorial spec runs through the real sweep path
(``runner.run_local`` into a DuckDB/Parquet store under the output
directory, resumable); the members table gets VG/EG/VEG flags
(``analysis.factorial``), the incidence table, a logistic regression of
success on VEG and every factor (cluster-robust by configuration cell), type-II
factor importance and a threshold-sensitivity rerun; a sample of successful
networks is retrained (a member's numbers depend only on its seed, levels and
shape, so the retrained parameters are the stored member's) for the
fixed-point census (``probes.fixed_points``).

Claims test the paper's two stated findings on our data, each with its
effect size, whatever the data say (digest section 8, checklist 1-7).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import jax
import numpy as np
import pandas as pd

from ..analysis import factorial
from ..models import get_model
from ..probes import fixed_points as fp
from ..report.figures import Line, Panel, grouped_bars, line_panels
from ..runner import plan, run_local
from ..spec import Spec, parse_spec
from ..store import Store
from ..train import train_population
from .base import DEFAULT, PAPER, QUICK, Outcome, Reproduction
from .claims import Claim

PAPER_NAME = "Johnston et al. 2025, long-term dependencies"
#: Factor columns of the analysis and the spec fields they come from.
FACTORS = {"lr": "optimizer_lr", "lag": "task_seq_len", "hidden": "model_hidden", "init": "model_init",
           "init_scale": "model_init_scale", "clip": "optimizer_clip"}
PROBES = ["loss", "grad_norm", "credit_ratio", "jac_lyapunov", "nonfinite_grad"]
#: VEG's deviance share must stay below this fraction of the learning rate's for "VEG adds little"
#: (our choice: a predictor with under a quarter of lr's explanatory power is not "strong").
WEAK_SHARE = 0.25
#: P(success | VEG) at least this for "VEG does not imply failure" (our choice: clearly above 0).
SUCCESS_DESPITE_VEG = 0.05


class Profile(NamedTuple):
    """Levels of the factorial design (ours; digest section 3.3 scaled to the machine) and its budget."""

    lrs: tuple[float, ...]
    lags: tuple[int, ...]
    hiddens: tuple[int, ...]
    inits: tuple[str, ...]
    init_scales: tuple[float, ...]
    clips: tuple[float, ...]
    seeds: int
    steps: int
    census: int  # successful networks whose fixed points are counted
    batch: int = 64  # digest: plain SGD, batch 64
    eval_batch: int = 2000  # digest: success measured on 2,000 held-out sequences
    log_points: int = 6


#: quick: 5 x 3 x 2 x 2 x 2 x 2 = 240 cells (lr, lag, width, init scheme, init scale, clip) x 8 seeds
#: = 1,920 networks, 400 SGD steps (the digest's 20,000-step budget is a GPU's; with 400 steps the
#: learning rates are shifted up a decade, our choice). default: 4 lags, 12 seeds (3,840), 1,000
#: steps. paper: the digest's levels (lags 10-100, widths 8-128, lr 1e-4-1e-2, 20,000 steps),
#: 5 x 4 x 4 x 2 x 2 x 2 = 640 cells x 64 seeds = 40,960 networks.
PROFILES = {
    QUICK: Profile(lrs=(0.01, 0.03, 0.1, 0.3, 1.0), lags=(10, 25, 50), hiddens=(8, 32),
                   inits=("gaussian", "orthogonal"), init_scales=(0.9, 1.1), clips=(0.0, 1.0), seeds=8,
                   steps=400, census=12),
    DEFAULT: Profile(lrs=(0.01, 0.03, 0.1, 0.3, 1.0), lags=(10, 25, 50, 100), hiddens=(8, 32),
                     inits=("gaussian", "orthogonal"), init_scales=(0.9, 1.1), clips=(0.0, 1.0), seeds=12,
                     steps=1000, census=24),
    PAPER: Profile(lrs=(1e-4, 3e-4, 1e-3, 3e-3, 1e-2), lags=(10, 25, 50, 100), hiddens=(8, 32, 64, 128),
                   inits=("gaussian", "orthogonal"), init_scales=(0.9, 1.1), clips=(0.0, 1.0), seeds=64,
                   steps=20_000, census=100, log_points=20),
}


# ---------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------


def sweep_spec(profile: Profile, name: str = "johnston") -> Spec:
    """The factorial spec: noisy latch (prefix 1, so lag = T - 1), Elman, plain SGD, every factor crossed."""
    return parse_spec({
        "name": name,
        "description": "Johnston et al. replication design (ours): noisy latch, Elman, plain SGD",
        "seeds": profile.seeds, "steps": profile.steps, "batch": profile.batch, "chunk_size": 512,
        "eval_batch": profile.eval_batch,
        "task": {"name": "latch", "seq_len": profile.lags[0] + 1},
        "model": {"arch": "elman"},
        "optimizer": {"name": "sgd"},
        "record": {"log_points": profile.log_points, "probes": PROBES},
        "grid": {"optimizer.lr": list(profile.lrs), "task.seq_len": [lag + 1 for lag in profile.lags],
                 "model.hidden": list(profile.hiddens), "model.init": list(profile.inits),
                 "model.init_scale": list(profile.init_scales), "optimizer.clip": list(profile.clips)},
    })


def spec_toml(spec: Spec) -> str:
    """The spec as TOML (so that ``rnnscope sweep`` can rerun or extend it)."""
    def value(v):
        return json.dumps(v)

    data = spec.model_dump(exclude={"grid"})
    lines = []
    for key, v in data.items():
        if not isinstance(v, dict):
            lines.append(f"{key} = {value(v)}")
    for key, v in data.items():
        if isinstance(v, dict):
            lines.append(f"\n[{key}]")
            lines += [f"{k} = {value(x)}" for k, x in v.items() if x is not None]
    lines.append("\n[grid]")
    lines += [f'"{k}" = {value(v)}' for k, v in spec.grid.items()]
    return "\n".join(lines) + "\n"


def members_frame(store: Store) -> pd.DataFrame:
    """The members table with the analysis's factor names, lag = T - 1 and the VEG inputs.

    ``nonfinite`` counts non-finite gradient events plus divergence (a
    diverged member's later probes are masked, so its blow-up shows only
    in the flag).
    """
    with store.connect() as con:
        table = con.execute("SELECT * FROM members").df()
    out = table.rename(columns={v: k for k, v in FACTORS.items()})
    out["lag"] = out["lag"] - 1
    out["nonfinite"] = out["nonfinite_grad_sum"].fillna(0) + out["diverged"].astype(int)
    out["success"] = out["success"].astype(bool)
    return out


# ---------------------------------------------------------------------------
# Fixed-point census of successful networks
# ---------------------------------------------------------------------------


class CensusRow(NamedTuple):
    member_id: str
    lag: int
    hidden: int
    counts: dict
    uses_hyperbolic: bool
    robust: bool
    distinct_basins: bool
    jac_lyapunov: float


def retrain(spec: Spec, member_ids: list[str]):
    """Parameters of the given members, retrained: {member_id: (model, model_cfg, params)}."""
    chunks, _ = plan(spec)
    wanted = set(member_ids)
    out = {}
    for chunk in chunks:
        members = [m for m in chunk.members if m.member_id in wanted]
        if not members:
            continue
        model_cfg, task_cfg, opt_cfg, train_cfg = chunk.static
        hps = [m.hp() for m in members]
        hp = {k: np.array([h[k] for h in hps], np.float32) for k in hps[0]}
        res = train_population(model_cfg, task_cfg, opt_cfg, train_cfg, [m.seed for m in members], hp)
        for i, m in enumerate(members):
            out[m.member_id] = (get_model(model_cfg.arch), model_cfg, jax.tree.map(lambda a: a[i], res.params),
                                task_cfg, float(res.final_loss[i]))
    return out


def census_of(model, model_cfg, params, task_cfg, n_sequences: int = 64, n_starts: int = 128, seed: int = 0):
    """Fixed points of F(h) = step(h, 0) from visited and random starts; latching census of both classes."""
    task = task_cfg.build()
    xs, labels = task.sample(jax.random.PRNGKey(seed), n_sequences)
    h0 = jax.numpy.zeros((n_sequences, model_cfg.hidden))
    hs = model.run(params, h0, xs)
    starts = fp.starts_from_states(hs, n_starts, jax.random.PRNGKey(seed + 1))
    points = fp.find_fixed_points(model, params, starts)
    census = fp.latching_census(model, params, hs[-1], np.asarray(labels)[:, 0], points)
    return points, census


def fixed_point_census(spec: Spec, table: pd.DataFrame, n: int, seed: int = 0) -> list[CensusRow]:
    """The census of up to ``n`` successful members, drawn evenly over lags (seeded)."""
    rng = np.random.default_rng(seed)
    ok = table[table["success"]]
    if ok.empty:
        return []
    per_lag = max(1, n // max(ok["lag"].nunique(), 1))
    picked = pd.concat([g.sample(min(len(g), per_lag), random_state=int(rng.integers(1 << 31)))
                        for _, g in ok.groupby("lag")])
    trained = retrain(spec, list(picked["member_id"]))
    rows = []
    for _, row in picked.iterrows():
        model, model_cfg, params, task_cfg, _ = trained[row["member_id"]]
        points, census = census_of(model, model_cfg, params, task_cfg)
        rows.append(CensusRow(row["member_id"], int(row["lag"]), int(row["hidden"]), dict(points.counts),
                              bool(census.uses_hyperbolic_attractors), bool(census.robust_latching),
                              bool(census.distinct_basins), float(row["jac_lyapunov_median"])))
    return rows


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


def _share_of(importance: factorial.FactorImportance, term: str) -> float:
    rows = importance.table[importance.table["term"] == term]
    return float(rows["deviance_share"].iloc[0]) if len(rows) else float("nan")


def finding_claims(table: pd.DataFrame, flags: factorial.VegFlags) -> tuple[list[Claim], dict]:
    analysis = factorial.analyze_sweep(table, list(FACTORS), flags.vg_threshold, flags.eg_factor)
    inc, reg, imp = analysis.incidence, analysis.regression, analysis.importance
    pooled = inc.pooled.iloc[0] if inc.resolved else None
    claims = [
        Claim("VEG is common across the design (share of runs flagged VG or EG)", "> 0.10 (digest: most long-lag "
              "runs VG, most high-lr runs EG)", f"{flags.n_veg / max(flags.n, 1):.3f} (VG {flags.n_vg}, EG "
              f"{flags.n_eg} of {flags.n})", bool(flags.n_veg > 0.10 * flags.n)),
    ]
    if pooled is not None:
        p_veg, p_no = float(pooled["p_success_flag"]), float(pooled["p_success_noflag"])
        claims.append(Claim("VEG does not imply failure: P(success | VEG) (95% Wilson interval)",
                            f">= {SUCCESS_DESPITE_VEG}",
                            f"{p_veg:.3f} [{pooled['p_success_flag_lo']:.3f}, {pooled['p_success_flag_hi']:.3f}]; "
                            f"P(success | no VEG) = {p_no:.3f}", bool(p_veg >= SUCCESS_DESPITE_VEG)))
    else:
        claims.append(Claim("VEG does not imply failure: P(success | VEG)", f">= {SUCCESS_DESPITE_VEG}",
                            f"unresolved: {inc.reason}", False))
    if imp.resolved:
        ranked = imp.table.sort_values("lr_stat", ascending=False)
        lr_row = ranked[ranked["term"] == "lr"].iloc[0]
        claims.append(Claim("learning rate strongly affects success: lr's rank by type-II deviance (LR test)",
                            "rank 1, Holm-significant", f"rank {int(lr_row['rank'])}, share "
                            f"{lr_row['deviance_share']:.3f}, p_holm {lr_row['p_holm']:.2g}",
                            bool(int(lr_row["rank"]) == 1 and bool(lr_row["reject_holm"]))))
        veg_share, lr_share = _share_of(imp, "VEG"), float(lr_row["deviance_share"])
        or_text = (f"OR_VEG = {reg.flag_odds_ratio:.3g} [{reg.flag_or_lo:.3g}, {reg.flag_or_hi:.3g}]"
                   if reg.resolved else f"regression unresolved: {reg.reason}")
        claims.append(Claim("after controlling for the factors VEG adds little: VEG's deviance share over lr's",
                            f"< {WEAK_SHARE}", f"{veg_share / lr_share:.3f} ({or_text})",
                            bool(veg_share < WEAK_SHARE * lr_share)))
    else:
        claims.append(Claim("learning rate strongly affects success", "rank 1", f"unresolved: {imp.reason}", False))
        claims.append(Claim("after controlling for the factors VEG adds little", f"< {WEAK_SHARE}",
                            f"unresolved: {imp.reason}", False))
    return claims, {"incidence": inc, "regression": reg, "importance": imp}


def sensitivity_claim(table: pd.DataFrame) -> tuple[Claim, factorial.ThresholdSensitivity]:
    """Checklist 7: VEG's weakness relative to lr holds at every (VG, EG) threshold pair."""
    sens = factorial.threshold_sensitivity(table, list(FACTORS))
    weak = []
    for _, row in sens.table.iterrows():
        flags = factorial.veg_flags(table, row["vg_threshold"], row["eg_factor"])
        imp = factorial.factor_importance(flags.table, list(FACTORS), "VEG")
        weak.append(bool(imp.resolved and _share_of(imp, "VEG") < WEAK_SHARE * _share_of(imp, "lr")))
    return (Claim("not a threshold artefact: VEG weak relative to lr at every VG (1e-4..1e-8) x EG (1e2..1e4) pair",
                  f"{len(weak)} of {len(weak)}", f"{sum(weak)} of {len(weak)}", bool(all(weak))), sens)


def census_claims(rows: list[CensusRow]) -> list[Claim]:
    if not rows:
        return [Claim("successful networks need not use hyperbolic attractors", "> 0 of the census",
                      "unresolved: no successful network", False)]
    non_hyperbolic = sum(not r.uses_hyperbolic for r in rows)
    robust = [r for r in rows if r.robust]
    claims = [Claim("successful latch networks need not latch with hyperbolic attractors (share of the census)",
                    "> 0", f"{non_hyperbolic} of {len(rows)}", bool(non_hyperbolic > 0))]
    if robust:
        contracting = sum(r.jac_lyapunov < 0 for r in robust)
        claims.append(Claim("Bengio 1994 where its assumptions hold: robustly latched networks have a negative "
                            "Lyapunov exponent (median over training)", f"{len(robust)} of {len(robust)}",
                            f"{contracting} of {len(robust)}", bool(contracting == len(robust))))
    return claims


# ---------------------------------------------------------------------------
# Figures and tables
# ---------------------------------------------------------------------------


def success_panels(table: pd.DataFrame) -> list[Panel]:
    lines = []
    for lag, g in table.groupby("lag"):
        rate = g.groupby("lr")["success"].mean()
        lines.append(Line(rate.index.to_numpy(float), rate.to_numpy(float), f"lag {lag}", "o-"))
    veg = table.groupby("lr")["VEG"].apply(lambda s: float(s.astype(float).mean()))
    return [Panel("success rate vs learning rate", "learning rate", "P(success)", lines, logx=True),
            Panel("VEG share vs learning rate", "learning rate", "share flagged VEG",
                  [Line(veg.index.to_numpy(float), veg.to_numpy(float), "", "o-")], logx=True)]


def write_tables(out: Path, parts: dict, sens, census: list[CensusRow]) -> list[Path]:
    """incidence.csv, regression.csv, importance.csv, sensitivity.csv, census.csv."""
    paths = []
    frames = {"incidence": parts["incidence"].to_frame(), "regression": parts["regression"].terms,
              "importance": parts["importance"].to_frame(), "sensitivity": sens.to_frame(),
              "census": pd.DataFrame([{**r._asdict(), **{f"n_{k}": v for k, v in r.counts.items()}}
                                      for r in census]).drop(columns="counts", errors="ignore")}
    for name, frame in frames.items():
        path = out / f"{name}.csv"
        frame.to_csv(path, index=False)
        paths.append(path)
    return paths


def run_factorial(profile_name: str, out: Path) -> Outcome:
    profile = PROFILES[profile_name]
    spec = sweep_spec(profile)
    (out / "spec.toml").write_text(spec_toml(spec))
    store = Store(out / "store" / spec.name)
    run_local(spec, store)  # resumes: members already stored are skipped
    table = members_frame(store)
    flags = factorial.veg_flags(table)
    claims, parts = finding_claims(table, flags)
    sens_claim, sens = sensitivity_claim(table)
    claims.append(sens_claim)
    census = fixed_point_census(spec, table, profile.census)
    claims += census_claims(census)
    write_tables(out, parts, sens, census)
    counts = {c: [sum(r.counts.get(c, 0) for r in census if r.lag == lag) for lag in profile.lags]
              for c in fp.CLASSES}
    figures = [
        line_panels(success_panels(flags.table), out / "success.png"),
        grouped_bars([f"lag {lag}" for lag in profile.lags], counts, out / "fixed_point_census.png",
                     title="fixed points of successful networks, by class", ylabel="count"),
    ]
    return Outcome(claims, figures)


REPRODUCTIONS = [
    Reproduction("johnston-factorial", PAPER_NAME,
                 "factorial sweep of Elman RNNs on the noisy latch: VEG does not predict failure once lr is "
                 "controlled; lr matters; fixed-point census of successful networks",
                 run_factorial, (QUICK, DEFAULT, PAPER)),
]
