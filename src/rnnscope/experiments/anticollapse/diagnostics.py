"""``anticollapse-diagnostics`` (Livi 2026, checklist D1-D3 of digest section 8.3, reports of 4.4).

- D1: the mixture of exponentials built from the tau spectrum,
  f_mix(l) = mean_q exp(-l/tau_q), follows the transport envelope f(l)
  (Spearman rho = 1 and log-space Pearson r >= 0.91 in the authors' 45
  validation runs; lags from 16 to 140).
- D2: the spectrum has a population limit as the width H grows: the
  Wasserstein-1 distance between the log-rate distributions of consecutive
  widths falls, and the cross-seed variance of f(l) falls as H^-1.8 to
  H^-1.9 (DiagGate and GRU under plain SGD).
- D3: the drift of the log-rate process (section 5.3) on densely
  checkpointed GRU runs: the far-left plateau kappa_tail is positive and
  flat for anti-collapsed runs; a collapsed run should not show that closure.
  These runs train for the profile's ``drift_steps`` (longer than D1's), so
  that the spectrum has settled before its drift is read.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import scipy.special
import scipy.stats

from ...analysis import drift, phase, spectrum
from ...optim import OptimizerConfig
from ...report.figures import Line, Panel, line_panels
from ..base import Outcome
from ..claims import Claim, at_least, close
from .common import PROFILES, Profile, RungRun, drift_profile, final_phases, member_hp, train_rung

D1_ARCHS = ("diaggate", "gru", "lstm")
D1_LAGS = (16, 140)  # Livi (digest section 8.3, D1): lags up to 140, fit from l >= 16
D1_SPEARMAN = 0.99  # digest: rho = 1.000 in every run; 0.99 leaves room for ties at float precision
D1_PEARSON = 0.91  # digest: log-space r >= 0.91 (the GRU/LSTM minimum)
D2_ARCH = "diaggate"
D2_SGD_LR = 0.05  # our choice: the sources give no SGD learning rate for the width sweep
MIN_TOP_WIDTH = 64  # our choice: three widths at least, so that "falls monotonically" compares two distances
MIN_WIDTH = 16  # digest section 4.4: the sweep starts at H = 16 (and beta needs 16 valid neurons)
D2_EXPONENT = -1.85  # digest section 4.4: variance of f ~ H^-1.8 (DiagGate) ... H^-1.9 (GRU)
#: our choice: with 3 seeds the slope's standard error is 1.3 (``variance_slope_stderr``), too
#: wide to tell -1.85 from anything else at three widths; 8 seeds bring it to 0.59
D2_MIN_SEEDS = 8
D3_ARCH = "gru"
#: our choice: the late 30% of 100 checkpoints holds 30 transitions, so the far-left 10% slice of
#: 32 neurons x 3 seeds holds about 290 samples (the plateau needs 200)
D3_CHECKPOINTS = 100


def d2_widths(profile: Profile) -> tuple[int, ...]:
    """Widths of the D2 sweep: doublings from 16 up to the profile's width, at least to 64 (the digest's 16..512)."""
    top = max(profile.hidden, MIN_TOP_WIDTH)
    return tuple(top // 2**k for k in range(5, -1, -1) if top // 2**k >= MIN_WIDTH)


def mixture_vs_transport(run: RungRun) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per member: (Spearman rho, log-space Pearson r) between f_mix and the transport f on the D1 lags, and the lags."""
    keep = (run.lags >= D1_LAGS[0]) & (run.lags <= D1_LAGS[1])
    lags = run.lags[keep]
    rho, r = [], []
    for f, tau in zip(run.envelope[:, -1, keep], run.tau[:, -1]):
        f_mix = spectrum.mixture_envelope(tau, lags)
        ok = np.isfinite(f) & (f > 0) & np.isfinite(f_mix) & (f_mix > 0)
        if ok.sum() < 3:
            rho.append(np.nan), r.append(np.nan)
            continue
        rho.append(scipy.stats.spearmanr(f[ok], f_mix[ok]).statistic)
        r.append(scipy.stats.pearsonr(np.log(f[ok]), np.log(f_mix[ok])).statistic)
    return np.array(rho), np.array(r), lags


def wasserstein_between_widths(runs: dict[int, RungRun]) -> np.ndarray:
    """W1 distance between the pooled final log-rate samples of consecutive widths."""
    zetas = [spectrum.log_rates(spectrum.valid_tau(run.tau[:, -1])) for run in runs.values()]
    return np.array([scipy.stats.wasserstein_distance(a, b) for a, b in zip(zetas, zetas[1:])])


def variance_slope_stderr(seeds: int, widths) -> float:
    """Standard error of the OLS slope of log(cross-seed variance) on log H, from sampling noise alone.

    A variance estimated from S Gaussian seeds is sigma^2 chi^2_{S-1} / (S - 1),
    so its log has variance trigamma((S - 1) / 2) whatever sigma is; over
    independent widths the slope's standard error is that s.d. divided by
    sqrt(sum (log H - mean log H)^2). Averaging over lags would narrow it only
    if the lags' variances were independent; they share the seed's gate shift.
    """
    x = np.log(np.asarray(widths, float))
    return float(math.sqrt(scipy.special.polygamma(1, (seeds - 1) / 2) / np.sum((x - x.mean()) ** 2)))


def seed_variance_exponent(runs: dict[int, RungRun]) -> tuple[float, np.ndarray]:
    """Slope of log(mean over lags of the cross-seed variance of f) on log H, and the variances.

    The digest (section 4.4) states the law for the variance of f itself. At
    the quick sizes (8 seeds, 300 SGD steps) the variance of log f gives
    nearly the same slope (-2.84 against -2.90); after 1000 steps the two
    part (-2.87 against -3.74), and the slope of f alone falls outside the
    claim's band: D2 at these widths depends on how long the networks train.
    """
    variances = np.array([np.nanmean(np.nanvar(run.envelope[:, -1], axis=0, ddof=1))
                          for run in runs.values()])
    widths = np.array(list(runs), float)
    slope = np.polyfit(np.log(widths), np.log(variances), 1)[0]
    return float(slope), variances


def run_diagnostics(profile_name: str, out: Path) -> Outcome:
    profile = PROFILES[profile_name]
    claims, panels = [], []

    # D1
    d1_runs = {arch: train_rung(arch, profile) for arch in D1_ARCHS}
    d1_lines = []
    for arch, run in d1_runs.items():
        rho, r, lags = mixture_vs_transport(run)
        keep = np.isin(run.lags, lags)
        d1_lines += [Line(lags, run.envelope[0, -1, keep], f"{arch}: transport", "o"),
                     Line(lags, spectrum.mixture_envelope(run.tau[0, -1], lags), f"{arch}: mixture", "-")]
        claims.append(at_least(f"D1 {arch}: Spearman(f_mix, f_transport), min over seeds", float(np.min(rho)),
                               D1_SPEARMAN))
        claims.append(at_least(f"D1 {arch}: log-space Pearson(f_mix, f_transport), min over seeds", float(np.min(r)),
                               D1_PEARSON))

    panels.append(Panel("D1: f(l), transport vs mixture (seed 0)", "lag l", "f(l)", d1_lines, logx=True, logy=True))

    # D2
    sgd = OptimizerConfig(name="sgd")
    runs = {}
    d2_seeds = max(profile.seeds, D2_MIN_SEEDS)
    for h in d2_widths(profile):
        p = profile._replace(hidden=h, seeds=d2_seeds)
        runs[h] = train_rung(D2_ARCH, p, sgd, member_hp(p, p.seeds, lr=D2_SGD_LR), probes=("loss", "envelope",
                                                                                             "timescales"))
    w1 = wasserstein_between_widths(runs)
    claims.append(Claim(f"D2 {D2_ARCH}: W1 between log-rate spectra of consecutive widths {list(runs)}",
                        "falls monotonically", np.array2string(w1, precision=3), bool(np.all(np.diff(w1) < 0))))
    slope, variances = seed_variance_exponent(runs)
    se = variance_slope_stderr(d2_seeds, list(runs))
    claims.append(close(f"D2 {D2_ARCH}: exponent of the cross-seed variance of f(l) in H (tolerance: 2 s.e.)",
                        slope, D2_EXPONENT, atol=round(2 * se, 2)))
    widths = np.array(list(runs), float)
    panels.append(Panel("D2: cross-seed variance of f", "H", "variance", [Line(widths, variances, "", "o-")],
                        logx=True, logy=True))

    # D3
    # recording does not change training, so the phase labels of the densely recorded networks
    # come from a second run of the same seeds and length that records the envelope only at the
    # end (D1's run when the lengths agree)
    dense = drift_profile(profile, D3_CHECKPOINTS)
    drift_steps = dense.steps
    run = train_rung(D3_ARCH, dense, probes=("loss", "timescales"))
    labelled = (d1_runs[D3_ARCH] if drift_steps == profile.steps
                else train_rung(D3_ARCH, dense._replace(record_every=None, records=2)))
    labels = [p.label for p in final_phases(labelled)]
    vote = phase.seed_majority(labels)
    zeta = drift.zeta_from_tau(np.concatenate(list(run.tau), axis=1))  # seeds' neurons pooled as particles
    diag = drift.drift_diagnostics(zeta, run.steps.astype(float))
    anti = vote.label in phase.ANTI_COLLAPSED_LABELS
    plateau = diag.plateau
    claims.append(Claim(f"D3 {D3_ARCH}, {drift_steps} steps: far-left plateau closure (positive, flat, "
                        f"constant preferred) matches the phase ({vote.label})",
                        "closure iff anti-collapsed",
                        f"kappa_tail = {plateau.kappa_tail:.3g} [{plateau.lo:.3g}, {plateau.hi:.3g}], "
                        f"closure {diag.closure}" if plateau.resolved else f"unresolved: {diag.reason}",
                        bool(plateau.resolved and diag.closure == anti)))
    claims.append(Claim(f"D3 {D3_ARCH}, {drift_steps} steps: moments of zeta stabilise late in training", "stabilised",
                        str(diag.moments.stabilised) if diag.moments.resolved else diag.moments.reason,
                        bool(diag.moments.resolved and diag.moments.stabilised)))
    if diag.drift.resolved:
        panels.append(Panel(f"D3 {D3_ARCH}: binned drift F(ζ)", "ζ = -log τ", "E[dζ/dt | ζ]",
                            [Line(diag.drift.centres, diag.drift.drift, "10%-trimmed mean", "o-"),
                             Line(diag.drift.centres, 0 * diag.drift.centres, "", ":")]))
    return Outcome(claims, [line_panels(panels, out / "diagnostics.png")])
