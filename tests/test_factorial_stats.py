"""Tests of rnnscope.analysis.factorial: statistics of a factorial sweep (Johnston et al. 2025, digest sections 4-5).

Synthetic sweeps are drawn from a known logistic model,

    logit P(success) = b0 + b_VEG VEG + sum_f effect_f[level],

with VEG itself drawn with a probability that depends on the factors (so the
marginal association of VEG with success is confounded, as in a real sweep).
The fitted model is then correctly specified: the MLE is asymptotically
normal around the truth with the covariance the fit reports (inverse Fisher
information), which is where the "within 3 standard errors" tolerances come
from. Independent checks use statsmodels' own formula fits on the member
rows. Seeds are fixed, so a failure is a change in behaviour, not bad luck.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.stats
import statsmodels.api as sm
import statsmodels.formula.api as smf

from rnnscope.analysis.factorial import (
    EG_FACTORS,
    VG_THRESHOLDS,
    factor_importance,
    incidence,
    separating_columns,
    success_regression,
    threshold_sensitivity,
    veg_flags,
    wilson_interval,
)

LR_EFFECT = {1e-4: -1.0, 3e-4: 0.0, 1e-3: 0.8, 3e-3: 0.5, 1e-2: -1.5}  # non-monotone, as checklist row 3 expects
LAG_EFFECT = {10: 0.6, 25: 0.3, 50: 0.0, 100: -0.8}
NULL_FACTORS = {"hidden": [8, 32, 64, 128], "init": ["glorot", "orth0.9", "orth1.1"]}
INTERCEPT = 0.2


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def crossed(levels: dict, seeds: int) -> pd.DataFrame:
    names = list(levels)
    rows = [(*combo, s) for combo in itertools.product(*levels.values()) for s in range(seeds)]
    return pd.DataFrame(rows, columns=[*names, "seed"])


def simulate_sweep(log_or_veg: float, seeds: int = 84, seed: int = 0, veg_lag: dict | None = None) -> pd.DataFrame:
    """5 lr x 4 lag x 4 hidden x 3 init cells x ``seeds`` members (84 -> 20,160), success from the known model.

    ``veg_lag`` adds a VEG x lag interaction: extra log-odds for flagged members at those lags.
    """
    rng = np.random.default_rng(seed)
    table = crossed({"lr": list(LR_EFFECT), "lag": list(LAG_EFFECT), **NULL_FACTORS}, seeds)
    lr, lag = table["lr"].to_numpy(), table["lag"].to_numpy()
    # VEG more likely at long lags (vanishing) and large learning rates (exploding)
    p_veg = logistic(-1.0 + 0.02 * lag + 1.5 * (lr >= 3e-3))
    veg = rng.random(len(table)) < p_veg
    eta = INTERCEPT + table["lr"].map(LR_EFFECT).to_numpy() + table["lag"].map(LAG_EFFECT).to_numpy()
    eta = eta + log_or_veg * veg
    if veg_lag:
        eta = eta + veg * table["lag"].map(lambda v: veg_lag.get(v, 0.0)).to_numpy()
    return table.assign(VEG=veg, success=rng.random(len(table)) < logistic(eta))


def true_coefficients(log_or_veg: float) -> dict[str, float]:
    """Treatment coding against the smallest level of every factor."""
    ref_lr, ref_lag = min(LR_EFFECT), min(LAG_EFFECT)
    truth = {"Intercept": INTERCEPT + LR_EFFECT[ref_lr] + LAG_EFFECT[ref_lag], "VEG": log_or_veg}
    truth.update({f"lr[{k}]": v - LR_EFFECT[ref_lr] for k, v in LR_EFFECT.items() if k != ref_lr})
    truth.update({f"lag[{k}]": v - LAG_EFFECT[ref_lag] for k, v in LAG_EFFECT.items() if k != ref_lag})
    for name, levels in NULL_FACTORS.items():
        truth.update({f"{name}[{lv}]": 0.0 for lv in sorted(levels)[1:]})
    return truth


@pytest.fixture(scope="module", params=[0.0, 1.0], ids=["log_or_0", "log_or_1"])
def sweep(request):
    return request.param, simulate_sweep(request.param, seed=11 + int(request.param))


FACTORS = ["lr", "lag", "hidden", "init"]


# ---------------------------------------------------------------- VEG flags


def diagnostics_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "credit_ratio_median": [1e-7, 1e-3, np.nan, np.nan, 1e-9, -1.0, np.inf, 1e-6],
            "grad_norm_max": [1.0, 5000.0, np.nan, 1.0, 1.0, 1.0, np.inf, 1000.0],
            "grad_norm_initial": [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0],
            "nonfinite": [0, 0, 2, 0, 0, np.nan, 0, 0],
        }
    )


def as_list(series: pd.Series) -> list:
    return [None if pd.isna(v) else bool(v) for v in series]


def test_veg_flags_on_hand_rows():
    """VG: r < 1e-6; EG: max > 1e3 x initial or a non-finite event; VEG = VG or EG; undetermined stays <NA>."""
    flags = veg_flags(diagnostics_rows())
    assert flags.resolved, flags.reason
    t = flags.table
    # row 7 sits exactly on both thresholds: strict inequalities, so neither flag
    assert as_list(t["VG"]) == [True, False, None, None, True, None, False, False]
    assert as_list(t["EG"]) == [False, True, True, False, None, None, True, False]
    assert as_list(t["VEG"]) == [True, True, True, None, True, None, True, False]
    assert (flags.n, flags.n_vg, flags.n_eg, flags.n_veg, flags.n_undetermined) == (8, 2, 3, 5, 2)
    assert str(t["VEG"].dtype) == "boolean"
    assert list(diagnostics_rows().columns) == list(t.columns[:4])  # input columns kept, flags appended


def test_veg_flags_thresholds_and_optional_nonfinite_column():
    rows = diagnostics_rows()
    loose = veg_flags(rows, vg_threshold=1e-2, eg_factor=1e4)
    assert as_list(loose.table["VG"])[:2] == [True, True]
    assert as_list(loose.table["EG"])[:3] == [False, False, True]  # 5000 < 1e4; the non-finite event still counts
    without = veg_flags(rows.drop(columns="nonfinite"), nonfinite=None)
    assert without.resolved
    assert as_list(without.table["EG"])[:3] == [False, True, None]  # no count: row 2's max is missing


def test_veg_flags_bad_input_is_unresolved():
    assert not veg_flags(diagnostics_rows().drop(columns="grad_norm_max")).resolved
    assert "grad_norm_max" in veg_flags(diagnostics_rows().drop(columns="grad_norm_max")).reason
    assert not veg_flags(diagnostics_rows(), vg_threshold=-1.0).resolved
    assert not veg_flags(diagnostics_rows().assign(nonfinite="many")).resolved
    assert not veg_flags([1, 2, 3]).resolved


# ---------------------------------------------------------------- incidence


def wilson_by_hand(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    z = scipy.stats.norm.ppf(0.5 + level / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def small_table() -> pd.DataFrame:
    # cell lr=0.1: VEG rows 3 (2 succeed), no-VEG rows 2 (0 succeed); cell lr=1.0: no VEG at all
    return pd.DataFrame(
        {
            "lr": [0.1, 0.1, 0.1, 0.1, 0.1, 1.0, 1.0, 1.0, 1.0],
            "VEG": pd.array([True, True, True, False, False, False, False, False, None], dtype="boolean"),
            "success": [1, 1, 0, 0, 0, 1, 0, 1, 1],
        }
    )


def test_incidence_equals_hand_counts():
    inc = incidence(small_table(), "VEG", by="lr")
    assert inc.resolved, inc.reason
    assert (inc.n, inc.n_dropped) == (8, 1)  # the <NA> flag row is left out
    pooled = inc.pooled.iloc[0]
    # pooled 2x2: flag&success 2, flag&failure 1, noflag&success 2, noflag&failure 3
    assert (pooled["n_flag_success"], pooled["n_flag_failure"]) == (2, 1)
    assert (pooled["n_noflag_success"], pooled["n_noflag_failure"]) == (2, 3)
    expected = {
        "p_success_flag": (2, 3),
        "p_success_noflag": (2, 5),
        "p_flag_success": (2, 4),
        "p_flag_failure": (1, 4),
    }
    for name, (k, n) in expected.items():
        assert pooled[name] == pytest.approx(k / n)
        assert (pooled[f"{name}_lo"], pooled[f"{name}_hi"]) == pytest.approx(wilson_by_hand(k, n), abs=1e-12)
    cells = inc.cells.set_index("lr")
    assert cells.loc[0.1, "p_success_flag"] == pytest.approx(2 / 3)
    assert cells.loc[0.1, "p_success_noflag"] == 0.0
    assert cells.loc[0.1, "p_success_noflag_hi"] == pytest.approx(wilson_by_hand(0, 2)[1])
    # lr = 1.0 has no flagged member: P(success | VEG) and P(VEG | .) conditionals on flag are NaN, with a reason
    assert math.isnan(cells.loc[1.0, "p_success_flag"]) and math.isnan(cells.loc[1.0, "p_success_flag_lo"])
    assert cells.loc[1.0, "p_success_noflag"] == pytest.approx(2 / 3)
    assert cells.loc[1.0, "p_flag_success"] == 0.0
    assert "no flagged members" in cells.loc[1.0, "reason"]
    assert cells.loc[0.1, "reason"] == ""
    frame = inc.to_frame()
    assert list(frame["cell"]) == ["pooled", "lr=0.1", "lr=1.0"]


def test_incidence_degenerate_inputs():
    assert math.isnan(wilson_interval(0, 0)[0])
    assert not incidence(small_table(), "VEG", by="missing").resolved
    assert not incidence(small_table().assign(success=[2, 1, 0, 0, 0, 1, 0, 1, 1]), "VEG").resolved
    nothing = incidence(small_table().assign(VEG=pd.array([None] * 9, dtype="boolean")), "VEG")
    assert not nothing.resolved and nothing.n_dropped == 9


# ---------------------------------------------------------------- logistic regression


def test_regression_recovers_known_coefficients(sweep):
    """Acceptance: every coefficient within 3 model-based s.e. of the truth; the 95 % intervals cover it.

    Over 20 other seeds per case these criteria failed for 2 (a 14-coefficient family at 3 s.e. and
    >= 11 of 14 covered has a few per cent false alarms); the seeds here were the first ones tried.
    """
    log_or, table = sweep
    fit = success_regression(table, FACTORS, "VEG", cov_type="nonrobust")
    assert fit.resolved, fit.reason
    assert fit.converged and fit.cov_type == "nonrobust" and fit.n == len(table)
    truth = true_coefficients(log_or)
    est = fit.terms.set_index("column")
    assert sorted(est.index) == sorted(truth)
    deviation = {c: (est.loc[c, "coef"] - truth[c]) / est.loc[c, "se"] for c in truth}
    assert max(abs(d) for d in deviation.values()) < 3.0, deviation
    covered = [est.loc[c, "or_lo"] <= math.exp(truth[c]) <= est.loc[c, "or_hi"] for c in truth]
    # 14 intervals at 95 %: fewer than 11 covering has probability ~0.4 % under a correct fit
    assert sum(covered) >= 11, dict(zip(truth, covered))
    assert fit.flag_or_lo <= math.exp(log_or) <= fit.flag_or_hi
    assert fit.flag_odds_ratio == pytest.approx(math.exp(est.loc["VEG", "coef"]))
    # the s.e. is the inverse Fisher information: for VEG, about 1/sqrt(sum p(1-p) residualised) ~ 0.03-0.05 here
    assert 0.02 < est.loc["VEG", "se"] < 0.06
    if log_or == 0.0:
        assert fit.flag_p > 0.01
    else:
        assert fit.flag_p < 1e-10


def test_regression_default_cluster_errors(sweep):
    """Cells as clusters (240 here): the same estimates, sandwich errors near the model-based ones, t(239) intervals."""
    log_or, table = sweep
    model = success_regression(table, FACTORS, "VEG", cov_type="nonrobust")
    robust = success_regression(table, FACTORS, "VEG")
    assert robust.resolved and robust.cov_type == "cluster" and robust.n_clusters == 240
    assert robust.notes == ()
    np.testing.assert_allclose(robust.terms["coef"], model.terms["coef"], rtol=1e-10)
    ratio = robust.terms["se"].to_numpy() / model.terms["se"].to_numpy()
    # the model is correctly specified, so the sandwich estimates the same variance, with noise of order 1/sqrt(G)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    assert abs(math.log(robust.flag_odds_ratio) - log_or) < 3.0 * robust.terms.set_index("column").loc["VEG", "se"]
    assert robust.flag_or_lo <= math.exp(log_or) <= robust.flag_or_hi


def test_confounded_flag_is_separated_from_factor_effects():
    """With no VEG effect, VEG runs fail more often (they sit at bad lr / long lags), yet the adjusted OR covers 1."""
    table = simulate_sweep(0.0, seed=11)
    pooled = incidence(table, "VEG").pooled.iloc[0]
    assert pooled["p_success_flag_hi"] < pooled["p_success_noflag_lo"]  # marginally, VEG looks harmful
    fit = success_regression(table, FACTORS, "VEG")
    assert fit.flag_or_lo <= 1.0 <= fit.flag_or_hi


def test_sandwich_on_aggregated_rows_matches_statsmodels_member_rows():
    """Fitting distinct rows with frequency weights and our CR1 sandwich equals statsmodels on every member."""
    rng = np.random.default_rng(3)
    table = crossed({"lr": [1e-3, 1e-2, 1e-1], "lag": [10, 50, 100], "hidden": [8, 64]}, 40)
    table["VEG"] = rng.random(len(table)) < 0.4
    cell_noise = rng.normal(0, 0.5, 18).repeat(40)  # unmodelled cell effects: the sandwich differs from H^-1
    eta = -0.3 + 0.8 * table["VEG"] + 0.4 * np.log(table["lr"] * 1e3) - table["lag"] / 100 + cell_noise
    table["success"] = rng.random(len(table)) < logistic(eta.to_numpy())
    ours = success_regression(table, ["lr", "lag", "hidden"], "VEG", interactions=[("VEG", "lag")])
    assert ours.resolved and ours.cov_type == "cluster" and ours.n_clusters == 18
    data = table.assign(y=table["success"].astype(int), v=table["VEG"].astype(int))
    cells = data.groupby(["lr", "lag", "hidden"]).ngroup().to_numpy()
    formula = "y ~ v + C(lr) + C(lag) + C(hidden) + v:C(lag)"
    glm = smf.glm(formula, data, family=sm.families.Binomial())
    theirs = glm.fit(cov_type="cluster", cov_kwds={"groups": cells}, use_t=True)
    order = ["Intercept", "v", "C(lr)[T.0.01]", "C(lr)[T.0.1]", "C(lag)[T.50]", "C(lag)[T.100]", "C(hidden)[T.64]",
             "v:C(lag)[T.50]", "v:C(lag)[T.100]"]  # fmt: skip
    mine = ours.terms.set_index("column").loc[
        ["Intercept", "VEG", "lr[0.01]", "lr[0.1]", "lag[50]", "lag[100]", "hidden[64]", "VEG:lag[50]", "VEG:lag[100]"]
    ]
    np.testing.assert_allclose(mine["coef"], theirs.params[order], rtol=1e-5)
    np.testing.assert_allclose(mine["se"], theirs.bse[order], rtol=1e-5)
    np.testing.assert_allclose(mine["p"], theirs.pvalues[order], rtol=1e-5)
    lo = np.exp(theirs.conf_int(alpha=0.05).loc[order, 0])
    np.testing.assert_allclose(mine["or_lo"], lo, rtol=1e-5)
    assert ours.deviance == pytest.approx(theirs.deviance, rel=1e-10)
    model = success_regression(table, ["lr", "lag", "hidden"], "VEG", cov_type="nonrobust")
    plain = smf.glm("y ~ v + C(lr) + C(lag) + C(hidden)", data, family=sm.families.Binomial()).fit()
    mine = model.terms.set_index("column")
    np.testing.assert_allclose(mine.loc[["VEG", "lag[100]"], "se"], plain.bse[["v", "C(lag)[T.100]"]], rtol=1e-5)


def test_interaction_recovered_and_flag_odds_ratio_is_at_reference_level():
    table = simulate_sweep(0.5, seeds=42, seed=5, veg_lag={100: -1.0})
    fit = success_regression(table, FACTORS, "VEG", interactions=[("VEG", "lag")], cov_type="nonrobust")
    assert fit.resolved, fit.reason
    est = fit.terms.set_index("column")
    truth = {"VEG": 0.5, "VEG:lag[25]": 0.0, "VEG:lag[50]": 0.0, "VEG:lag[100]": -1.0}
    for column, value in truth.items():
        assert abs(est.loc[column, "coef"] - value) < 3.0 * est.loc[column, "se"], (column, est.loc[column])
    assert set(est.loc[list(truth)[1:], "term"]) == {"VEG:lag"}


# ---------------------------------------------------------------- separation and degenerate designs


def separated_sweep(seed: int = 4) -> pd.DataFrame:
    """lr = 1e-1 always fails (diverges), the rest has ordinary noise."""
    rng = np.random.default_rng(seed)
    table = crossed({"lr": [1e-3, 1e-2, 1e-1], "lag": [10, 50]}, 80)
    table["VEG"] = rng.random(len(table)) < 0.4
    p = np.where(table["lr"] == 1e-1, 0.0, logistic(0.3 * table["VEG"] + (table["lr"] == 1e-2) - table["lag"] / 50))
    table["success"] = rng.random(len(table)) < p
    return table


def test_level_where_every_run_fails_is_taken_at_the_boundary():
    table = separated_sweep()
    fit = success_regression(table, ["lr", "lag"], "VEG")
    assert fit.resolved, fit.reason
    assert fit.boundary.to_dict("records") == [{"variable": "lr", "level": 0.1, "n": 160, "outcome": "failure"}]
    row = fit.terms.set_index("column").loc["lr[0.1]"]
    assert row["odds_ratio"] == 0.0 and row["coef"] == -math.inf
    assert math.isnan(row["or_lo"]) and math.isnan(row["se"]) and "boundary" in row["note"]
    assert fit.n == 480 and fit.n_fitted == 320
    # the other coefficients are the MLE on the remaining members: statsmodels on those rows agrees
    rest = table[table["lr"] != 1e-1].assign(y=lambda d: d["success"].astype(int), v=lambda d: d["VEG"].astype(int))
    plain = smf.glm("y ~ v + C(lr) + C(lag)", rest, family=sm.families.Binomial()).fit()
    est = fit.terms.set_index("column")
    np.testing.assert_allclose(
        est.loc[["VEG", "lr[0.01]", "lag[50]"], "coef"], plain.params[["v", "C(lr)[T.0.01]", "C(lag)[T.50]"]], rtol=1e-5
    )
    # and the deviance is the supremum over all members: unpenalised IRLS run long on all rows creeps up to it
    everyone = table.assign(y=table["success"].astype(int), v=table["VEG"].astype(int))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        drifting = smf.glm("y ~ v + C(lr) + C(lag)", everyone, family=sm.families.Binomial()).fit(maxiter=300)
    assert fit.deviance == pytest.approx(drifting.deviance, rel=1e-6)


def test_reference_level_at_the_boundary_moves():
    table = separated_sweep()
    fit = success_regression(table, ["lr", "lag"], "VEG", reference={"lr": 1e-1})
    assert fit.resolved
    assert any("reference of lr moved" in note for note in fit.notes)
    assert "lr[0.01]" in set(fit.terms["column"]) and "lr[0.001]" not in set(fit.terms["column"])


def test_flag_at_the_boundary_gives_odds_ratio_zero():
    table = separated_sweep()
    table.loc[table["VEG"], "success"] = False  # the belief under test, held exactly
    fit = success_regression(table, ["lr", "lag"], "VEG")
    assert fit.resolved, fit.reason
    assert fit.flag_odds_ratio == 0.0 and math.isnan(fit.flag_or_lo) and math.isnan(fit.flag_or_hi)
    assert set(fit.boundary["variable"]) == {"VEG", "lr"}


def test_other_separation_and_singular_designs_are_unresolved_not_raised():
    table = separated_sweep()
    inter = table.copy()
    inter.loc[inter["VEG"] & (inter["lag"] == 50), "success"] = False  # separates only through VEG x lag
    fit = success_regression(inter, ["lr", "lag"], "VEG", interactions=[("VEG", "lag")])
    assert not fit.resolved and "separated" in fit.reason and "VEG:lag[50]" in fit.reason
    assert not factor_importance(inter, ["lr", "lag"], "VEG", interactions=[("VEG", "lag")]).resolved

    complete = table.assign(success=table["lr"] >= 1e-2)
    fit = success_regression(complete, ["lr", "lag"], "VEG")
    assert not fit.resolved and "separated completely" in fit.reason

    collinear = table.assign(VEG=table["lag"] == 50)
    fit = success_regression(collinear, ["lr", "lag"], "VEG")
    assert not fit.resolved and "rank-deficient" in fit.reason

    for bad in (table.assign(VEG=False), table.assign(success=True)):
        fit = success_regression(bad, ["lr", "lag"], "VEG")
        assert not fit.resolved and "every member" in fit.reason
    assert not success_regression(table, ["lr", "nope"], "VEG").resolved
    assert not success_regression(table, ["lr"], "VEG", interactions=[("lr", "lag")]).resolved
    assert not success_regression(table, ["lr"], "VEG", cov_type="HC9").resolved


def test_separating_columns_linear_program():
    X = np.column_stack([np.ones(6), [0, 0, 0, 1, 1, 1], [0, 1, 0, 1, 0, 1]])
    assert separating_columns(X, np.array([0, 1, 0, 1, 0, 1]), ["1", "a", "b"])  # b = y: complete separation
    quasi = separating_columns(X, np.array([0, 1, 0, 0, 0, 0]), ["1", "a", "b"])  # a = 1 -> always 0
    assert "a" in quasi
    assert separating_columns(X, np.array([0, 1, 1, 0, 1, 0]), ["1", "a", "b"]) == []
    duplicated = np.column_stack([X, X[:, 2]])  # rank-deficient, overlapping outcomes: no false alarm
    assert separating_columns(duplicated, np.array([0, 1, 1, 0, 1, 0]), list("1abc")) == []


def test_few_clusters_fall_back_to_model_errors():
    table = separated_sweep()
    fit = success_regression(table, ["lr", "lag"], "VEG")  # 4 cells left for 4 coefficients
    assert fit.cov_type == "nonrobust" and any("too few for cluster-robust" in n for n in fit.notes)


# ---------------------------------------------------------------- factor importance


def importance_sweep() -> pd.DataFrame:
    """lr has a big effect, lag a small one, hidden none, VEG a moderate one."""
    rng = np.random.default_rng(21)
    table = crossed({"lr": list(LR_EFFECT), "lag": [10, 50], "hidden": [8, 32, 64]}, 60)
    table["VEG"] = rng.random(len(table)) < logistic(-0.5 + (table["lr"] >= 3e-3).to_numpy())
    eta = table["lr"].map(LR_EFFECT) + 0.25 * (table["lag"] == 50) + 0.5 * table["VEG"]
    table["success"] = rng.random(len(table)) < logistic(eta.to_numpy())
    return table


def deviance_of(formula: str, data: pd.DataFrame) -> float:
    return float(smf.glm(formula, data, family=sm.families.Binomial()).fit().deviance)


def test_factor_importance_ranks_big_effect_first_and_null_factor_not_significant():
    table = importance_sweep()
    imp = factor_importance(table, ["lr", "lag", "hidden"], "VEG")
    assert imp.resolved, imp.reason
    t = imp.table.set_index("term")
    assert imp.table["term"].iloc[0] == "lr"
    assert dict(t["df"]) == {"lr": 4, "lag": 1, "hidden": 2, "VEG": 1}
    assert t.loc["lr", "p"] < 1e-20 and t.loc["VEG", "p"] < 1e-3
    assert t.loc["hidden", "p"] > 0.01 and not t.loc["hidden", "reject_holm"]
    assert t.loc["lr", "deviance_share"] > t.loc["VEG", "deviance_share"] > t.loc["hidden", "deviance_share"]
    # Holm: step-down adjusted p-values are never below the raw ones and keep the order of the raw ones
    assert np.all(t["p_holm"] >= t["p"] - 1e-15)
    # independent check of one LR statistic: drop lr from the full model, refit with statsmodels
    data = table.assign(y=table["success"].astype(int), v=table["VEG"].astype(int))
    full = deviance_of("y ~ v + C(lr) + C(lag) + C(hidden)", data)
    assert imp.full_deviance == pytest.approx(full, rel=1e-9)
    lr_stat = deviance_of("y ~ v + C(lag) + C(hidden)", data) - full
    assert t.loc["lr", "lr_stat"] == pytest.approx(lr_stat, rel=1e-7)
    assert t.loc["lr", "p"] == pytest.approx(scipy.stats.chi2.sf(lr_stat, 4), rel=1e-6, abs=1e-300)


def test_factor_importance_type_two_with_interaction():
    """Type II: main effects tested without the interactions containing them, interactions against the full model."""
    table = importance_sweep()
    imp = factor_importance(table, ["lr", "lag"], "VEG", interactions=[("lr", "lag")])
    t = imp.table.set_index("term")
    assert dict(t["df"]) == {"VEG": 1, "lr": 4, "lag": 1, "lr:lag": 4}
    data = table.assign(y=table["success"].astype(int), v=table["VEG"].astype(int))
    mains = deviance_of("y ~ v + C(lr) + C(lag)", data)
    assert t.loc["lr", "lr_stat"] == pytest.approx(deviance_of("y ~ v + C(lag)", data) - mains, rel=1e-7)
    full = deviance_of("y ~ v + C(lr) * C(lag)", data)
    assert t.loc["lr:lag", "lr_stat"] == pytest.approx(mains - full, rel=1e-6)
    assert t.loc["lr:lag", "p"] > 0.01  # no true interaction


def test_factor_importance_counts_boundary_levels_fully():
    """A level where every run fails is part of its factor's effect: df includes it, the LR uses the supremum."""
    table = separated_sweep()
    imp = factor_importance(table, ["lr", "lag"], "VEG")
    assert imp.resolved, imp.reason
    t = imp.table.set_index("term")
    assert t.loc["lr", "df"] == 2 and imp.table["term"].iloc[0] == "lr"
    data = table.assign(y=table["success"].astype(int), v=table["VEG"].astype(int))
    without_lr = deviance_of("y ~ v + C(lag)", data)  # no separation once lr is gone
    assert t.loc["lr", "lr_stat"] == pytest.approx(without_lr - imp.full_deviance, rel=1e-9)
    assert t.loc["lr", "lr_stat"] > 100
    assert imp.notes == ("full model: lr=0.1 taken at the boundary (all 160 members fail)",)


# ---------------------------------------------------------------- threshold sensitivity


def diagnostic_sweep(seed: int = 8) -> pd.DataFrame:
    """Credit ratios fall with the lag, gradient peaks grow with the learning rate; success from the factors."""
    rng = np.random.default_rng(seed)
    table = crossed({"lr": [1e-3, 1e-2, 1e-1], "lag": [10, 50, 100]}, 40)
    n = len(table)
    table["credit_ratio_median"] = 10.0 ** (-table["lag"] / 12 + rng.normal(0, 1.5, n))
    table["grad_norm_initial"] = rng.uniform(0.5, 2.0, n)
    table["grad_norm_max"] = table["grad_norm_initial"] * 10.0 ** (1 + 10 * table["lr"] + rng.normal(0, 1, n))
    table["nonfinite"] = (rng.random(n) < 0.02).astype(int)
    table["success"] = rng.random(n) < logistic(1.0 - table["lag"] / 60 - 5 * table["lr"])
    return table


def test_threshold_sensitivity_full_grid_and_monotone_shares():
    table = diagnostic_sweep()
    sens = threshold_sensitivity(table, ["lr", "lag"])
    t = sens.table
    assert len(t) == len(VG_THRESHOLDS) * len(EG_FACTORS) == 15
    assert set(itertools.product(VG_THRESHOLDS, EG_FACTORS)) == set(zip(t["vg_threshold"], t["eg_factor"]))
    assert sens.resolved, sens.reason
    for _, by_eg in t.groupby("eg_factor"):
        share = by_eg.sort_values("vg_threshold", ascending=False)["share_vg"].to_numpy()
        assert np.all(np.diff(share) <= 0) and share[0] > share[-1]  # VG share falls as the threshold falls
    for _, by_vg in t.groupby("vg_threshold"):
        share = by_vg.sort_values("eg_factor")["share_eg"].to_numpy()
        assert np.all(np.diff(share) <= 0) and share[0] > share[-1]
    assert np.all(t["share_veg"] >= np.maximum(t["share_vg"], t["share_eg"]) - 1e-12)
    # the default pair agrees with the building blocks run by hand
    row = t[(t["vg_threshold"] == 1e-6) & (t["eg_factor"] == 1e3)].iloc[0]
    flagged = veg_flags(table).table
    assert row["share_veg"] == pytest.approx(flagged["VEG"].mean())
    assert row["p_success_flag"] == pytest.approx(incidence(flagged, "VEG").pooled["p_success_flag"].iloc[0])
    assert row["odds_ratio"] == pytest.approx(success_regression(flagged, ["lr", "lag"], "VEG").flag_odds_ratio)


def test_threshold_sensitivity_keeps_unresolved_rows():
    table = diagnostic_sweep().assign(credit_ratio_median=1.0, nonfinite=0)
    table["grad_norm_max"] = table["grad_norm_initial"]  # nothing is ever flagged
    sens = threshold_sensitivity(table, ["lr", "lag"], vg_thresholds=(1e-6,), eg_factors=(1e2, 1e3))
    assert len(sens.table) == 2 and not sens.resolved
    assert sens.table["share_veg"].eq(0.0).all()
    assert sens.table["odds_ratio"].isna().all() and sens.table["reason"].str.contains("no flagged members").all()
