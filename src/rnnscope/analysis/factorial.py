"""Statistics of a factorial sweep: VEG flags, incidence tables, logistic regression, factor importance.

Johnston et al. 2025 (digest papers/johnston.md). The paper's own VEG metric
and statistical model are gaps; everything here follows the digest's
replication protocol [our protocol R]: section 4 (per-run VG / EG / VEG
indicators), section 5 (incidence table, logistic regression with
cluster-robust errors, type-II likelihood-ratio importance with Holm
control) and checklist rows 1-4 and 7 of section 8.

Input: a members table (pandas DataFrame), one row per trained network, with

- factor columns of any names (``lr``, ``lag``, ``hidden``, ``init``, ...);
  a replicate column such as ``seed`` is *not* a factor;
- a binary ``success`` column (bool, nullable boolean or 0/1; missing allowed);
- for ``veg_flags``, the per-member diagnostics ``credit_ratio_median``,
  ``grad_norm_max``, ``grad_norm_initial`` and ``nonfinite`` (a count of
  non-finite gradient events); the names are arguments.

Rows with a missing value in a column a function needs are left out and
counted (``n_dropped``). Every function returns a NamedTuple with
``resolved`` and ``reason``; invalid input and degenerate data give
``resolved=False`` or NaN with a reason, never an exception and never an
invented number. Results have ``to_frame()`` returning a plain DataFrame for
the command line and the report.

Our choices, used throughout (all labelled where they act):

- every factor is categorical, numeric levels included (a learning rate's
  effect is expected to be non-monotone: too small never learns in budget,
  too large diverges; digest section 8 row 3), with treatment coding
  against a reference level, by default the smallest level in sorted order;
- clusters for the robust errors are configuration cells, the distinct
  combinations of the factor columns (the flag varies inside a cell; the
  seed does not define one);
- separation (a level where every member fails or every member succeeds,
  common in small sweeps) is handled by taking the maximum likelihood at
  its boundary: see ``success_regression``.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.optimize
import scipy.stats
import statsmodels.api as sm
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

SUCCESS = "success"
CREDIT_RATIO = "credit_ratio_median"
GRAD_NORM_MAX = "grad_norm_max"
GRAD_NORM_INITIAL = "grad_norm_initial"
NONFINITE = "nonfinite"
VG, EG, VEG = "VG", "EG", "VEG"

VG_THRESHOLD = 1e-6  # digest section 4: VG when the median credit ratio r < 1e-6 (our protocol R)
EG_FACTOR = 1e3  # digest section 4: EG when max grad norm > 1e3 x its initial value (our protocol R)
VG_THRESHOLDS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8)  # digest section 4: sensitivity 1e-4 ... 1e-8
EG_FACTORS = (1e2, 1e3, 1e4)  # digest section 4: sensitivity 1e2 ... 1e4
LEVEL = 0.95  # digest section 5: 95 % intervals
FAMILY_ALPHA = 0.05  # our choice: Holm at family-wise 5 %
FEW_CLUSTERS = 50  # our choice, after Cameron & Miller (2015): fewer clusters than this is "few"
SEPARATION_TOL = 1e-7  # our choice: LP objective above this (design entries are 0/1) means separation

INTERCEPT = "Intercept"
_NAN = float("nan")

Term = tuple[str, ...]  # ("lr",) a main effect, ("lr", "lag") an interaction


# ---------------------------------------------------------------- result types


class VegFlags(NamedTuple):
    """The members table with VG, EG and VEG added (pandas nullable boolean; <NA> = undetermined).

    n: rows; n_vg, n_eg, n_veg: members flagged; n_undetermined: members whose
    VEG is <NA> (VG undetermined and EG not set).
    """

    resolved: bool
    reason: str
    table: pd.DataFrame
    vg_threshold: float
    eg_factor: float
    n: int
    n_vg: int
    n_eg: int
    n_veg: int
    n_undetermined: int

    def to_frame(self) -> pd.DataFrame:
        return self.table


class Incidence(NamedTuple):
    """2x2 incidence of flag and success, pooled and per cell, with Wilson intervals.

    ``pooled`` has one row and ``cells`` one row per cell of the ``by``
    columns (empty when ``by`` is None). Columns: counts n, n_flag,
    n_success, n_flag_success, n_flag_failure, n_noflag_success,
    n_noflag_failure; the proportions p_success_flag = P(success | flag),
    p_success_noflag = P(success | no flag), p_flag_success = P(flag |
    success), p_flag_failure = P(flag | failure), each with ``_lo`` and
    ``_hi``; ``reason`` names the proportions left NaN because their group
    is empty.
    """

    resolved: bool
    reason: str
    flag: str
    by: tuple[str, ...]
    pooled: pd.DataFrame
    cells: pd.DataFrame
    n: int
    n_dropped: int

    def to_frame(self) -> pd.DataFrame:
        """Pooled row first (``cell`` = "pooled"), then the cells (``cell`` = "lr=0.001, lag=50")."""
        pooled = self.pooled.assign(cell="pooled")
        return pd.concat([pooled, self.cells], ignore_index=True)[_with_cell_first(self.cells, self.pooled)]


class SuccessRegression(NamedTuple):
    """Logistic regression of success on the flag and the factors.

    terms: one row per coefficient (term, column, coef, se, stat = coef/se,
    p, odds_ratio, or_lo, or_hi, note); boundary levels (see ``success_regression``) appear
    with coef -inf/+inf, odds_ratio 0/inf and NaN intervals, and their note.
    flag_*: the flag's odds ratio, its interval and Wald p-value (the odds
    ratio at the reference levels when the flag enters an interaction).
    cov_type: the covariance actually used ("cluster" or "nonrobust").
    boundary: the levels taken at the boundary (variable, level, n, outcome).
    notes: what was done that a reader should know (fallbacks, dropped columns).
    """

    resolved: bool
    reason: str
    flag: str
    terms: pd.DataFrame
    flag_odds_ratio: float
    flag_or_lo: float
    flag_or_hi: float
    flag_p: float
    converged: bool
    cov_type: str
    n: int
    n_dropped: int
    n_fitted: int
    n_clusters: int
    deviance: float
    null_deviance: float
    boundary: pd.DataFrame
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        return self.terms


class FactorImportance(NamedTuple):
    """Type-II likelihood-ratio test of every term, with Holm control across them.

    table (sorted by lr_stat, largest first): term, df, lr_stat, p, p_holm,
    reject_holm, deviance_share = lr_stat / (null_deviance - full_deviance),
    rank, reason. Type-II shares need not sum to 1.
    """

    resolved: bool
    reason: str
    table: pd.DataFrame
    null_deviance: float
    full_deviance: float
    n: int
    n_dropped: int
    notes: tuple[str, ...]  # boundary levels of the full model

    def to_frame(self) -> pd.DataFrame:
        return self.table


class ThresholdSensitivity(NamedTuple):
    """Flags, incidence and regression at each (vg_threshold, eg_factor); one row per pair, always all of them.

    Columns: vg_threshold, eg_factor, n, share_vg, share_eg, share_veg,
    p_success_flag (+ _lo, _hi), p_success_noflag (+ _lo, _hi), odds_ratio,
    or_lo, or_hi, p (the VEG odds ratio of ``success_regression``),
    resolved, reason. ``resolved`` of the whole is True when every row is.
    """

    resolved: bool
    reason: str
    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table


# ---------------------------------------------------------------- input helpers


def _missing_columns(table, columns) -> str:
    if not isinstance(table, pd.DataFrame):
        return f"table must be a pandas DataFrame, got {type(table).__name__}"
    missing = [c for c in columns if c not in table.columns]
    return f"missing columns: {missing}" if missing else ""


def _as_float(series: pd.Series) -> tuple[np.ndarray, str]:
    """A numeric column as float with NaN for missing values, or a reason."""
    try:
        return pd.to_numeric(series, errors="raise").astype("Float64").to_numpy(float, na_value=np.nan), ""
    except (TypeError, ValueError) as err:
        return np.zeros(0), f"column {series.name!r} must be numeric ({err})"


def _as_binary(series: pd.Series) -> tuple[np.ndarray, str]:
    """A bool / nullable boolean / 0-1 column as float 0.0, 1.0 or NaN, or a reason."""
    values, reason = _as_float(series)
    if reason:
        return values, f"column {series.name!r} must be binary (bool or 0/1)"
    seen = values[~np.isnan(values)]
    if not np.all((seen == 0.0) | (seen == 1.0)):
        bad = sorted(set(seen[(seen != 0.0) & (seen != 1.0)].tolist()))[:3]
        return values, f"column {series.name!r} must be binary (bool or 0/1), found {bad}"
    return values, ""


def _sorted_levels(series: pd.Series) -> list:
    levels = list(pd.unique(series.dropna()))
    try:
        return sorted(levels)
    except TypeError:
        return sorted(levels, key=str)


def _as_names(columns) -> tuple[str, ...]:
    if columns is None:
        return ()
    if isinstance(columns, str):
        return (columns,)
    return tuple(columns)


class _Members(NamedTuple):
    """Complete rows of the columns an analysis needs: y and the flag as 0/1 floats, the factors as codes."""

    y: np.ndarray
    codes: dict[str, np.ndarray]  # variable -> level index per member (the flag: 0/1)
    levels: dict[str, list]
    frame: pd.DataFrame  # the complete rows, original columns
    n_dropped: int


def _members(table, factors, flag, success, extra=()) -> tuple[_Members | None, str]:
    """Validated complete rows for an analysis of success on the flag and factors, or a reason."""
    needed = list(dict.fromkeys([success, *([flag] if flag else []), *factors, *extra]))
    reason = _missing_columns(table, needed)
    if reason:
        return None, reason
    y, reason = _as_binary(table[success])
    flag_values = np.zeros(len(table))
    if not reason and flag:
        flag_values, reason = _as_binary(table[flag])
    if reason:
        return None, reason
    complete = ~np.isnan(y) & ~np.isnan(flag_values) & table[list(factors) + list(extra)].notna().all(axis=1).to_numpy()
    frame = table.loc[complete]
    codes, levels = {}, {}
    for f in factors:
        levels[f] = _sorted_levels(frame[f])
        codes[f] = pd.Categorical(frame[f], categories=levels[f]).codes.astype(np.int64)
    if flag:
        levels[flag] = [0, 1]
        codes[flag] = flag_values[complete].astype(np.int64)
    return _Members(y[complete], codes, levels, frame, int((~complete).sum())), ""


# ---------------------------------------------------------------- VEG flags


def _kleene_or(a: pd.Series, b: pd.Series) -> pd.Series:
    return (a.astype("boolean") | b.astype("boolean")).astype("boolean")


def _where_valid(condition: np.ndarray, valid: np.ndarray, index) -> pd.Series:
    return pd.Series(pd.arrays.BooleanArray(condition & valid, ~valid), index=index)


def veg_flags(
    table: pd.DataFrame,
    vg_threshold: float = VG_THRESHOLD,
    eg_factor: float = EG_FACTOR,
    *,
    credit_ratio: str = CREDIT_RATIO,
    grad_norm_max: str = GRAD_NORM_MAX,
    grad_norm_initial: str = GRAD_NORM_INITIAL,
    nonfinite: str | None = NONFINITE,
) -> VegFlags:
    """Per-member vanishing / exploding gradient indicators.

    Johnston et al. 2025, digest papers/johnston.md section 4 table [our protocol R]:

        VG  = median over training of r < vg_threshold,   r = ||dL/dh_L|| / ||dL/dh_T||
        EG  = max over training of ||grad|| > eg_factor * ||grad at init||,  or a non-finite gradient
        VEG = VG or EG

    with vg_threshold = 1e-6 and eg_factor = 1e3 as defaults (the digest's
    pre-registered values). Columns hold r's median, the max and initial
    gradient norms and the count of non-finite events (``nonfinite=None``
    when the table has none: EG then rests on the norms alone).

    Undetermined is kept, not guessed (our choice): VG is <NA> where r is
    missing or negative (r = +inf is valid: no vanishing); the norm part of
    EG is <NA> where the max is missing or the initial norm is missing,
    non-finite or <= 0; a missing count is <NA>. EG and VEG combine with
    three-valued (Kleene) logic, so a member with a non-finite event is EG
    and VEG whatever its credit ratio. The flags are pandas "boolean"
    columns added to a copy of the table.
    """
    columns = [credit_ratio, grad_norm_max, grad_norm_initial] + ([nonfinite] if nonfinite else [])
    reason = _missing_columns(table, columns)
    if not reason and not (_positive_finite(vg_threshold) and _positive_finite(eg_factor)):
        reason = f"thresholds must be positive and finite, got vg_threshold={vg_threshold}, eg_factor={eg_factor}"
    arrays = {}
    for c in columns if not reason else ():
        arrays[c], reason = _as_float(table[c])
        if reason:
            break
    if reason:
        empty = table if isinstance(table, pd.DataFrame) else pd.DataFrame()
        return VegFlags(False, reason, empty, float(vg_threshold), float(eg_factor), 0, 0, 0, 0, 0)

    r, g_max, g_0 = arrays[credit_ratio], arrays[grad_norm_max], arrays[grad_norm_initial]
    index = table.index
    with np.errstate(invalid="ignore"):
        vg = _where_valid(r < vg_threshold, ~np.isnan(r) & (r >= 0), index)
        norm_valid = ~np.isnan(g_max) & np.isfinite(g_0) & (g_0 > 0)
        eg = _where_valid(g_max > eg_factor * g_0, norm_valid, index)
        if nonfinite:
            events = arrays[nonfinite]
            eg = _kleene_or(eg, _where_valid(events > 0, ~np.isnan(events), index))
    veg = _kleene_or(vg, eg)
    out = table.assign(**{VG: vg, EG: eg, VEG: veg})
    return VegFlags(
        True,
        "",
        out,
        float(vg_threshold),
        float(eg_factor),
        len(out),
        int(vg.sum()),
        int(eg.sum()),
        int(veg.sum()),
        int(veg.isna().sum()),
    )


def _positive_finite(x) -> bool:
    try:
        return math.isfinite(float(x)) and float(x) > 0
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------- incidence


_PROPORTIONS = {
    # name: (numerator count, denominator counts, what the denominator is)
    "p_success_flag": ("n_flag_success", ("n_flag_success", "n_flag_failure"), "no flagged members"),
    "p_success_noflag": ("n_noflag_success", ("n_noflag_success", "n_noflag_failure"), "no unflagged members"),
    "p_flag_success": ("n_flag_success", ("n_flag_success", "n_noflag_success"), "no successes"),
    "p_flag_failure": ("n_flag_failure", ("n_flag_failure", "n_noflag_failure"), "no failures"),
}


def wilson_interval(count: int, nobs: int, level: float = LEVEL) -> tuple[float, float, float]:
    """(p, lo, hi): the proportion count/nobs and its Wilson score interval; NaN when nobs = 0.

    statsmodels ``proportion_confint(method="wilson")``; Wilson rather than the
    Wald interval because cells are small and proportions often sit at 0 or 1.
    """
    if nobs <= 0:
        return _NAN, _NAN, _NAN
    lo, hi = proportion_confint(count, nobs, alpha=1.0 - level, method="wilson")
    return count / nobs, float(lo), float(hi)


def _incidence_row(flag: np.ndarray, y: np.ndarray, level: float) -> dict:
    f, s = flag.astype(bool), y.astype(bool)
    row = {
        "n": int(f.size),
        "n_flag": int(f.sum()),
        "n_success": int(s.sum()),
        "n_flag_success": int((f & s).sum()),
        "n_flag_failure": int((f & ~s).sum()),
        "n_noflag_success": int((~f & s).sum()),
        "n_noflag_failure": int((~f & ~s).sum()),
    }
    empty = []
    for name, (num, den, why) in _PROPORTIONS.items():
        nobs = sum(row[c] for c in den)
        row[name], row[f"{name}_lo"], row[f"{name}_hi"] = wilson_interval(row[num], nobs, level)
        if nobs == 0:
            empty.append(f"{name}: {why}")
    row["reason"] = "; ".join(empty)
    return row


def incidence(
    table: pd.DataFrame,
    flag: str = VEG,
    by: str | Sequence[str] | None = None,
    *,
    success: str = SUCCESS,
    level: float = LEVEL,
) -> Incidence:
    """Incidence table of the flag and success, pooled and within each cell of ``by``.

    Johnston et al. 2025, digest papers/johnston.md section 5 layer 1 [our protocol R]:

        P(success | flag),  P(success | no flag),  P(flag | success),  P(flag | failure),

    with counts and 95 % Wilson intervals (``wilson_interval``). The belief
    under test predicts P(success | VEG) ~ 0; checklist row 2 expects it
    clearly above 0. A proportion whose group is empty is NaN, and the row's
    ``reason`` says which; members with a missing flag, success or ``by``
    value are left out (``n_dropped``).
    """
    by = _as_names(by)
    members, reason = _members(table, (), flag, success, extra=by)
    if reason:
        return _unresolved_incidence(reason, flag, by)
    if members.y.size == 0:
        return _unresolved_incidence("no member has both the flag and success recorded", flag, by, members.n_dropped)
    flag_values = members.codes[flag]
    pooled = pd.DataFrame([_incidence_row(flag_values, members.y, level)])
    rows = []
    if by:
        groups = members.frame.groupby(list(by), sort=True).indices
        for key, positions in groups.items():
            key = key if isinstance(key, tuple) else (key,)
            cell = ", ".join(f"{b}={k}" for b, k in zip(by, key))
            counts = _incidence_row(flag_values[positions], members.y[positions], level)
            rows.append({"cell": cell, **dict(zip(by, key)), **counts})
    cells = pd.DataFrame(rows, columns=["cell", *by, *pooled.columns]) if by else pd.DataFrame()
    return Incidence(True, "", flag, by, pooled, cells, int(members.y.size), members.n_dropped)


def _unresolved_incidence(reason, flag, by, n_dropped=0) -> Incidence:
    return Incidence(False, reason, flag, tuple(by), pd.DataFrame(), pd.DataFrame(), 0, n_dropped)


def _with_cell_first(cells: pd.DataFrame, pooled: pd.DataFrame) -> list[str]:
    first = ["cell", *[c for c in cells.columns if c not in pooled.columns and c != "cell"]]
    return first + list(pooled.columns)


# ---------------------------------------------------------------- design matrix


def _column_name(var: str, level, flag: str | None) -> str:
    return var if var == flag else f"{var}[{level}]"


def _term_columns(term: Term, members: _Members, reference: dict[str, int], flag: str | None, rows) -> list:
    """(name, values) of the treatment-coded columns of one term on the selected rows.

    A main effect has one indicator per non-reference level; the flag is its
    own 0/1 column; an interaction is the product of its variables' columns
    (every combination of non-reference levels).
    """
    per_var = []
    for var in term:
        codes = members.codes[var][rows]
        if var == flag:
            per_var.append([(var, (codes == 1).astype(float))])
        else:
            per_var.append(
                [
                    (_column_name(var, lvl, flag), (codes == j).astype(float))
                    for j, lvl in enumerate(members.levels[var])
                    if j != reference[var]
                ]
            )
    columns = []
    for combo in itertools.product(*per_var):
        name = ":".join(c[0] for c in combo)
        columns.append((name, np.prod([c[1] for c in combo], axis=0)))
    return columns


def _design(terms, members, reference, flag, rows) -> tuple[np.ndarray, list[str], list[str]]:
    """Intercept plus every term's columns: (X, column names, term label of each column)."""
    names, labels, values = [INTERCEPT], [INTERCEPT], [np.ones(int(np.count_nonzero(rows)))]
    for term in terms:
        for name, col in _term_columns(term, members, reference, flag, rows):
            names.append(name)
            labels.append(":".join(term))
            values.append(col)
    return np.column_stack(values), names, labels


def _unique_rows(X: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    data = X if y is None else np.column_stack([X, y])
    return np.unique(data, axis=0)


def _dependent_columns(X: np.ndarray, names: list[str]) -> list[str]:
    """Names of the columns that are linear combinations of the columns before them (greedy rank check)."""
    U = _unique_rows(X)
    if np.linalg.matrix_rank(U) == U.shape[1]:
        return []
    kept, dependent = [], []
    for j in range(U.shape[1]):
        if np.linalg.matrix_rank(U[:, kept + [j]]) > len(kept):
            kept.append(j)
        else:
            dependent.append(names[j])
    return dependent


def separating_columns(X: np.ndarray, y: np.ndarray, names: Sequence[str], tol: float = SEPARATION_TOL) -> list[str]:
    """Columns of a direction that separates y (complete or quasi-complete separation); [] when none exists.

    Linear-programming test in the spirit of Konis (2007, "Linear programming
    algorithms for detecting separated data in binary logistic regression
    models"): with s_i = 2 y_i - 1, the logistic MLE fails to exist iff some
    b != 0 has s_i x_i.b >= 0 for every member with at least one strict
    inequality. We solve

        max sum_i s_i x_i.b   subject to  s_i x_i.b >= 0,  -1 <= b_j <= 1

    (on the distinct (x, y) rows; HiGHS) and report the columns with b_j != 0
    when the optimum exceeds ``tol``. A rank-deficient design gives no false
    alarm: its null directions have x_i.b = 0 for all i.
    """
    U = _unique_rows(X, y)
    A = (2.0 * U[:, -1] - 1.0)[:, None] * U[:, :-1]
    res = scipy.optimize.linprog(
        -A.sum(axis=0), A_ub=-A, b_ub=np.zeros(len(A)), bounds=(-1.0, 1.0), method="highs"
    )
    if res.status != 0 or -res.fun <= tol:
        return []
    return [n for n, b in zip(names, res.x) if abs(b) > 1e-9]


# ---------------------------------------------------------------- boundary levels and fitting


class _Boundary(NamedTuple):
    variable: str
    level: object
    n: int
    outcome: str  # "success" or "failure": every member of the level has it


def _boundary_levels(members: _Members, variables) -> tuple[list[_Boundary], np.ndarray]:
    """Levels whose remaining members all share one outcome, removed repeatedly; and the kept rows.

    Removing a level can leave another level single-outcome among the rest,
    so the search repeats until nothing changes. Each removed level is a
    direction in which the likelihood rises to its supremum with the
    level's coefficient at -inf (all fail) or +inf (all succeed) while the
    other coefficients fit the kept rows.
    """
    keep = np.ones(members.y.size, dtype=bool)
    found: list[_Boundary] = []
    while keep.any():
        # all single-outcome levels of this pass are found before any is removed, so counts are whole levels
        removed = np.zeros_like(keep)
        for var in variables:
            codes = members.codes[var]
            for j, lvl in enumerate(members.levels[var]):
                rows = keep & (codes == j)
                if rows.any() and np.ptp(members.y[rows]) == 0:
                    outcome = "success" if members.y[rows][0] == 1 else "failure"
                    found.append(_Boundary(var, lvl, int(rows.sum()), outcome))
                    removed |= rows
        if not removed.any():
            break
        keep &= ~removed
    return found, keep


def _references(members, variables, boundary, requested, flag) -> tuple[dict[str, int], list[str]]:
    """Reference level per factor: the requested one (default: first in sorted order) unless at the boundary."""
    at_boundary = {(b.variable, b.level) for b in boundary}
    refs, notes = {}, []
    for var in variables:
        if var == flag:
            refs[var] = 0
            continue
        levels = members.levels[var]
        want = levels.index(requested[var]) if var in requested and requested[var] in levels else 0
        if (var, levels[want]) in at_boundary:
            free = [j for j, lvl in enumerate(levels) if (var, lvl) not in at_boundary]
            if free:
                notes.append(f"reference of {var} moved from {levels[want]} (boundary) to {levels[free[0]]}")
                want = free[0]
        refs[var] = want
    return refs, notes


class _Fit(NamedTuple):
    resolved: bool
    reason: str
    params: np.ndarray
    cov: np.ndarray  # covariance of params actually used
    t_df: int | None  # degrees of freedom of the t reference; None: normal
    deviance: float  # Bernoulli deviance -2 log L over the kept members
    converged: bool
    names: list[str]
    labels: list[str]
    boundary: list[_Boundary]
    keep: np.ndarray
    notes: list[str]
    cov_type: str
    n_clusters: int


def _failed_fit(reason, boundary=(), keep=None, notes=()) -> _Fit:
    empty = np.zeros(0)
    return _Fit(False, reason, empty, empty, None, _NAN, False, [], [], list(boundary), keep, list(notes), "", 0)


def _distinct(arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """First position and size of each distinct combination of the integer arrays (hashing, no sort of rows)."""
    frame = pd.DataFrame({i: np.asarray(a) for i, a in enumerate(arrays)})
    ids = frame.groupby(list(frame.columns), sort=False).ngroup().to_numpy()
    _, first, counts = np.unique(ids, return_index=True, return_counts=True)
    return first, counts


def _aggregate(X: np.ndarray, y: np.ndarray, groups: np.ndarray, codes: list[np.ndarray]):
    """Distinct (x, cluster, y) rows and how many members each stands for; x is fixed by the variables' codes."""
    first, counts = _distinct([*codes, groups, y.astype(np.int64)])
    return X[first], groups[first], y[first], counts.astype(float)


def _cluster_covariance(X, y, p, counts, groups, information_inverse, n_members: int) -> np.ndarray:
    """CR1 cluster-robust covariance of logistic coefficients (the formula of statsmodels ``cov_type="cluster"``).

        V = c H^-1 (sum_g s_g s_g^T) H^-1,   s_g = sum_{rows r in g} m_r (y_r - p_r) x_r,
        c = G/(G-1) (N-1)/(N-K),

    H^-1 the model-based covariance (inverse Fisher information), rows r
    standing for m_r members with the same (x, y, cluster), N members, K
    coefficients, G clusters. Each row lies in one cluster, so summing member
    scores row by row gives the member-level sandwich exactly.
    """
    scores = (counts * (y - p))[:, None] * X
    _, g = np.unique(groups, return_inverse=True)
    n_groups = int(g.max()) + 1
    per_group = np.zeros((n_groups, X.shape[1]))
    np.add.at(per_group, g, scores)
    meat = per_group.T @ per_group
    k = X.shape[1]
    correction = n_groups / (n_groups - 1.0) * (n_members - 1.0) / (n_members - k)
    return correction * information_inverse @ meat @ information_inverse


def _fit_logit(members: _Members, terms: list[Term], flag, reference, groups, cov_type) -> _Fit:
    """Logistic GLM of y on the terms after setting boundary levels aside; or a reason it cannot be fitted.

    Members with the same design row, cluster and outcome are fitted as one
    row with a frequency weight (statsmodels ``freq_weights``): the same
    likelihood, estimates and Fisher information as member by member, at the
    cost of the few distinct rows a factorial design has.
    """
    variables = [t[0] for t in terms if len(t) == 1]
    boundary, keep = _boundary_levels(members, variables)
    if not keep.any():
        levels = ", ".join(f"{b.variable}={b.level} (all {_verb(b.outcome)})" for b in boundary)
        return _failed_fit(f"the outcome is separated completely by single levels: {levels}", boundary, keep)
    refs, notes = _references(members, variables, boundary, reference, flag)
    X, names, labels = _design(terms, members, refs, flag, keep)
    constant = [j for j in range(1, X.shape[1]) if np.ptp(X[:, j]) == 0]
    if constant:
        notes.append(
            f"columns not identified once boundary levels are set aside, left out: {[names[j] for j in constant]}"
        )
        use = [j for j in range(X.shape[1]) if j not in constant]
        X, names, labels = X[:, use], [names[j] for j in use], [labels[j] for j in use]
    cluster_of = groups[keep] if groups is not None else np.zeros(int(keep.sum()), dtype=np.int64)
    codes = [members.codes[v][keep] for v in variables]
    Xr, gr, yr, counts = _aggregate(X, members.y[keep], cluster_of, codes)
    dependent = _dependent_columns(Xr, names)
    if dependent:
        reason = f"design is rank-deficient: {dependent} are linear combinations of other columns"
        return _failed_fit(reason, boundary, keep, notes)
    separating = separating_columns(Xr, yr, names)
    if separating:
        reason = f"the outcome is separated by a combination of {separating}; no finite maximum-likelihood estimate"
        return _failed_fit(reason, boundary, keep, notes)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = sm.GLM(yr, Xr, family=sm.families.Binomial(), freq_weights=counts).fit()
        except (np.linalg.LinAlgError, ValueError, FloatingPointError, OverflowError) as err:
            return _failed_fit(f"fit failed: {err}", boundary, keep, notes)
    notes.extend(sorted({f"statsmodels: {w.message}" for w in caught if issubclass(w.category, UserWarning)}))
    params, cov = np.asarray(result.params), np.asarray(result.cov_params())
    used, t_df, n_clusters = "nonrobust", None, int(np.unique(gr).size) if groups is not None else 0
    if cov_type == "cluster":
        if n_clusters > X.shape[1]:
            p = np.asarray(result.fittedvalues)
            cov = _cluster_covariance(Xr, yr, p, counts, gr, cov, int(keep.sum()))
            used, t_df = "cluster", n_clusters - 1
            if n_clusters < FEW_CLUSTERS:
                notes.append(
                    f"only {n_clusters} clusters: cluster-robust errors are noisy and tend to be too small "
                    "for cell-level terms; compare cov_type='nonrobust'"
                )
        else:
            notes.append(
                f"{n_clusters} clusters for {X.shape[1]} coefficients: too few for cluster-robust errors, "
                "model-based (Fisher information) errors used"
            )
    if not (np.all(np.isfinite(params)) and np.all(np.isfinite(np.diag(cov)))):
        return _failed_fit("fit gave non-finite coefficients or standard errors", boundary, keep, notes)
    return _Fit(
        True, "", params, cov, t_df, float(result.deviance), bool(result.converged), names, labels,
        boundary, keep, notes, used, n_clusters,
    )  # fmt: skip


def _verb(outcome: str) -> str:
    return "fail" if outcome == "failure" else "succeed"


def _cells(frame: pd.DataFrame, columns) -> np.ndarray:
    """Integer label of each member's cell: the distinct combination of ``columns``."""
    if not columns:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(list(columns), sort=True).ngroup().to_numpy()


def _terms(factors, flag, interactions) -> tuple[list[Term], str]:
    mains = ([(flag,)] if flag else []) + [(f,) for f in factors]
    known = {t[0] for t in mains}
    extra = []
    for inter in interactions:
        inter = _as_names(inter)
        if len(inter) < 2 or len(set(inter)) != len(inter):
            return [], f"interaction {inter} must name two or more distinct variables"
        if not set(inter) <= known:
            return [], f"interaction {inter} names {sorted(set(inter) - known)}, not among the factors or the flag"
        extra.append(inter)
    return mains + extra, ""


# ---------------------------------------------------------------- logistic regression


_TERM_COLUMNS = ["term", "column", "coef", "se", "stat", "p", "odds_ratio", "or_lo", "or_hi", "note"]


def success_regression(
    table: pd.DataFrame,
    factors: Sequence[str],
    flag: str = VEG,
    interactions: Sequence[Sequence[str]] = (),
    cluster: str | Sequence[str] | None = None,
    *,
    success: str = SUCCESS,
    reference: Mapping[str, object] | None = None,
    cov_type: str = "cluster",
    level: float = LEVEL,
) -> SuccessRegression:
    """Logistic regression of success on the flag, the factors and chosen interactions.

    Johnston et al. 2025, digest papers/johnston.md section 5 layer 2 [our protocol R]:

        logit P(success) = b0 + b_flag flag + sum_f (main effects of f) + sum (interactions),

    e.g. ``interactions=[("lr", "lag"), ("lr", "init"), ("VEG", "lr")]`` (the
    digest's eta x lag, eta x init, VEG x eta). Fitted by maximum likelihood
    (statsmodels GLM, Binomial, logit link, IRLS). Reported per coefficient:
    coef, s.e., Wald statistic coef/s.e. and its p-value, odds ratio
    exp(coef) with its 95 % interval exp(coef +/- q s.e.), q the normal
    quantile (model-based errors) or the t quantile with G - 1 degrees of
    freedom (cluster-robust errors with G clusters, as Cameron & Miller 2015
    advise; statsmodels ``use_t``). Checklist row 4 asks whether b_flag stays
    significant and how large it is beside the learning-rate effects.

    Our choices:

    - Coding: every factor categorical (numeric levels too), treatment
      coding against ``reference[f]``, by default the smallest level. An
      interaction's columns are products of its variables' columns, so with
      VEG x lr the flag's odds ratio is the one at the reference lr.
    - Errors: cluster-robust (statsmodels ``cov_type="cluster"``, with its
      small-sample correction) by configuration cell, i.e. the distinct
      combinations of ``factors`` (``cluster`` names other columns). With no
      more clusters than coefficients the sandwich is singular (a model
      saturated in the cells would make the cell terms' errors vanish), so
      the model-based Fisher-information errors are used and ``notes`` says
      so; with fewer than 50 clusters ``notes`` warns that the sandwich is
      noisy (in a 20-cell simulation it came out about half the model-based
      error for the cell-level terms). ``cov_type="nonrobust"`` asks for the
      model-based errors directly.
    - Separation. A level of a factor (or of the flag) whose members all
      fail, or all succeed, has no finite estimate: the likelihood rises
      towards its supremum as that coefficient goes to -inf or +inf. We
      take that supremum: the level's members are set aside (they are then
      fitted exactly and carry no information on the other coefficients),
      the rest is fitted as usual, and the level is reported with odds
      ratio 0 (all fail) or inf (all succeed) against the reference, NaN
      interval, and listed in ``boundary``; the search repeats on what is
      left. A reference level at the boundary is replaced by the next free
      level. Any other separation (found by ``separating_columns``, e.g.
      the flag separating within an interaction), a rank-deficient design
      or a failed fit gives ``resolved=False`` with a reason.
    """
    factors, reference = tuple(factors), dict(reference or {})
    cluster_columns = _as_names(cluster) if cluster is not None else factors
    terms, reason = _terms(factors, flag, interactions)
    if not reason and cov_type not in ("cluster", "nonrobust"):
        reason = f"cov_type must be 'cluster' or 'nonrobust', got {cov_type!r}"
    members = None
    if not reason:
        extra = [c for c in cluster_columns if c not in factors] if cov_type == "cluster" else []
        members, reason = _members(table, factors, flag, success, extra)
    if not reason:
        reason = _variation_reason(members, flag)
    if reason:
        n_dropped = members.n_dropped if members is not None else 0
        n = members.y.size if members is not None else 0
        return _unresolved_regression(reason, flag, n, n_dropped)
    groups = _cells(members.frame, cluster_columns) if cov_type == "cluster" else None
    fit = _fit_logit(members, terms, flag, reference, groups, cov_type)
    n = int(members.y.size)
    boundary = _boundary_frame(fit.boundary)
    if not fit.resolved:
        return _unresolved_regression(fit.reason, flag, n, members.n_dropped, boundary, tuple(fit.notes))
    terms_frame = _coefficient_frame(fit, level)
    if fit.boundary:
        terms_frame = pd.concat([terms_frame, _boundary_rows(fit.boundary, flag)], ignore_index=True)
    flag_row = terms_frame.loc[terms_frame["column"] == flag]
    flag_or = flag_row.iloc[0] if len(flag_row) else None
    return SuccessRegression(
        resolved=True,
        reason="",
        flag=flag,
        terms=terms_frame,
        flag_odds_ratio=float(flag_or["odds_ratio"]) if flag_or is not None else _NAN,
        flag_or_lo=float(flag_or["or_lo"]) if flag_or is not None else _NAN,
        flag_or_hi=float(flag_or["or_hi"]) if flag_or is not None else _NAN,
        flag_p=float(flag_or["p"]) if flag_or is not None else _NAN,
        converged=fit.converged,
        cov_type=fit.cov_type,
        n=n,
        n_dropped=members.n_dropped,
        n_fitted=int(fit.keep.sum()),
        n_clusters=fit.n_clusters,
        deviance=fit.deviance,  # boundary members add 0 at the supremum
        null_deviance=_null_deviance(members.y),
        boundary=boundary,
        notes=tuple(fit.notes),
    )


def _variation_reason(members: _Members, flag: str | None) -> str:
    if members.y.size == 0:
        return "no complete rows (success, flag and factors all recorded)"
    if np.ptp(members.y) == 0:
        return f"every member has success = {int(members.y[0])}: nothing to explain"
    if flag and np.ptp(members.codes[flag]) == 0:
        return f"every member has {flag} = {int(members.codes[flag][0])}: its effect is not estimable"
    return ""


def _coefficient_frame(fit: _Fit, level: float) -> pd.DataFrame:
    """Wald inference per coefficient: normal reference, or t with G - 1 df for cluster-robust errors."""
    se = np.sqrt(np.diag(fit.cov))
    stat = fit.params / se
    if fit.t_df is None:
        p, q = 2.0 * scipy.stats.norm.sf(np.abs(stat)), scipy.stats.norm.ppf(0.5 + level / 2.0)
    else:
        p, q = 2.0 * scipy.stats.t.sf(np.abs(stat), fit.t_df), scipy.stats.t.ppf(0.5 + level / 2.0, fit.t_df)
    with np.errstate(over="ignore"):
        return pd.DataFrame(
            {
                "term": fit.labels,
                "column": fit.names,
                "coef": fit.params,
                "se": se,
                "stat": stat,
                "p": p,
                "odds_ratio": np.exp(fit.params),
                "or_lo": np.exp(fit.params - q * se),
                "or_hi": np.exp(fit.params + q * se),
                "note": "",
            }
        )


def _boundary_rows(boundary: list[_Boundary], flag) -> pd.DataFrame:
    rows = []
    for b in boundary:
        # flag level 1 all failing, or flag level 0 all succeeding, both mean odds ratio 0 for the flag
        lowers_odds = (b.outcome == "failure") != (b.variable == flag and b.level == 0)
        name = _column_name(b.variable, b.level, flag)
        rows.append(
            {
                "term": b.variable,
                "column": name,
                "coef": -math.inf if lowers_odds else math.inf,
                "se": _NAN,
                "stat": _NAN,
                "p": _NAN,
                "odds_ratio": 0.0 if lowers_odds else math.inf,
                "or_lo": _NAN,
                "or_hi": _NAN,
                "note": f"boundary: all {b.n} members with {b.variable}={b.level} {_verb(b.outcome)}",
            }
        )
    numeric = {c: float for c in _TERM_COLUMNS if c not in ("term", "column", "note")}
    return pd.DataFrame(rows, columns=_TERM_COLUMNS).astype(numeric)


def _boundary_frame(boundary: list[_Boundary]) -> pd.DataFrame:
    return pd.DataFrame([b._asdict() for b in boundary], columns=list(_Boundary._fields))


def _null_deviance(y: np.ndarray) -> float:
    """-2 log L of the intercept-only model: -2 sum[y log p + (1-y) log(1-p)], p the mean success."""
    p = float(np.mean(y))
    if p in (0.0, 1.0):
        return 0.0
    k = float(np.sum(y))
    return float(-2.0 * (k * math.log(p) + (y.size - k) * math.log1p(-p)))


def _unresolved_regression(reason, flag, n=0, n_dropped=0, boundary=None, notes=()) -> SuccessRegression:
    boundary = boundary if boundary is not None else _boundary_frame([])
    return SuccessRegression(
        False, reason, flag, pd.DataFrame(columns=_TERM_COLUMNS), _NAN, _NAN, _NAN, _NAN, False, "",
        n, n_dropped, 0, 0, _NAN, _NAN, boundary, tuple(notes),
    )  # fmt: skip


# ---------------------------------------------------------------- factor importance


class _Deviance(NamedTuple):
    resolved: bool
    reason: str
    deviance: float  # over all members: boundary members add 0
    rank: int  # of the full design on all members (boundary levels included)
    boundary: list[_Boundary]


def _model_deviance(members: _Members, terms: list[Term], flag) -> _Deviance:
    fit = _fit_logit(members, terms, flag, {}, None, "nonrobust")
    variables = [t[0] for t in terms if len(t) == 1]
    first, _ = _distinct([members.codes[v] for v in variables] or [np.zeros(members.y.size, dtype=np.int64)])
    X, _, _ = _design(terms, members, {v: 0 for v in variables}, flag, np.isin(np.arange(members.y.size), first))
    rank = int(np.linalg.matrix_rank(X))
    if fit.keep is not None and not fit.keep.any():
        return _Deviance(True, "", 0.0, rank, fit.boundary)  # single levels fit every member: the supremum is D = 0
    if not fit.resolved:
        return _Deviance(False, fit.reason, _NAN, rank, fit.boundary)
    return _Deviance(True, "", fit.deviance, rank, fit.boundary)


def factor_importance(
    table: pd.DataFrame,
    factors: Sequence[str],
    flag: str | None = VEG,
    interactions: Sequence[Sequence[str]] = (),
    *,
    success: str = SUCCESS,
    family_alpha: float = FAMILY_ALPHA,
) -> FactorImportance:
    """Deviance-based importance of the flag, each factor and each interaction: type-II LR tests.

    Johnston et al. 2025, digest papers/johnston.md section 5 layer 3 [our protocol R].
    For a term T of the full model (flag + factors + interactions), type II
    compares the model without T and without every higher term containing T
    (M_0) with M_0 plus T (M_1):

        LR_T = D(M_0) - D(M_1),   df_T = rank(X_1) - rank(X_0),   p_T = P(chi2_df > LR_T),

    D the binomial deviance over all members (a main-effects model has M_1
    equal to the full model). ``deviance_share`` = LR_T / (D_null - D_full),
    our choice of normaliser (D_null of the intercept-only model), so the
    shares of correlated terms need not sum to 1. Holm's step-down
    correction across all tested terms (statsmodels ``multipletests``,
    family-wise ``family_alpha`` = 0.05, our choice) gives p_holm. The table
    is ranked by LR_T; checklist row 3 expects the learning rate near the
    top and, per the paper, above VEG.

    Boundary levels are treated as in ``success_regression``: each model
    takes its likelihood supremum, so a level where every run fails counts
    fully towards its factor's deviance, and df counts its coefficient. A
    test whose models cannot be fitted (other separation, rank deficiency)
    is NaN with a reason and left out of the Holm family.
    """
    factors = tuple(factors)
    terms, reason = _terms(factors, flag, interactions)
    members = None
    if not reason:
        members, reason = _members(table, factors, flag, success)
    if not reason:
        reason = _variation_reason(members, flag)
    if reason:
        return _unresolved_importance(reason, members)
    full = _model_deviance(members, terms, flag)
    d_null = _null_deviance(members.y)
    if not full.resolved:
        return _unresolved_importance(f"full model: {full.reason}", members, d_null)
    explained = d_null - full.deviance
    rows = []
    for term in terms:
        higher = [u for u in terms if u != term and set(term) < set(u)]
        without = [u for u in terms if u != term and u not in higher]
        m0 = _model_deviance(members, without, flag)
        m1 = full if not higher else _model_deviance(members, without + [term], flag)
        problems = [f"{name}: {m.reason}" for name, m in (("without", m0), ("with", m1)) if not m.resolved]
        lr = max(m0.deviance - m1.deviance, 0.0) if not problems else _NAN  # a negative LR is round-off
        df = m1.rank - m0.rank
        p = float(scipy.stats.chi2.sf(lr, df)) if not problems and df > 0 else _NAN
        rows.append(
            {
                "term": ":".join(term),
                "df": df,
                "lr_stat": lr,
                "p": p,
                "deviance_share": lr / explained if explained > 0 else _NAN,
                "reason": "; ".join(problems) if problems else ("" if df > 0 else "term adds no column"),
            }
        )
    frame = pd.DataFrame(rows)
    _add_holm(frame, family_alpha)
    frame = frame.sort_values("lr_stat", ascending=False, na_position="last", kind="stable").reset_index(drop=True)
    frame["rank"] = np.arange(1, len(frame) + 1)
    frame = frame[["term", "df", "lr_stat", "p", "p_holm", "reject_holm", "deviance_share", "rank", "reason"]]
    unresolved = frame.loc[frame["reason"] != "", "term"].tolist()
    reason = f"tests unresolved for {unresolved}" if unresolved else ""
    notes = tuple(
        f"full model: {b.variable}={b.level} taken at the boundary (all {b.n} members {_verb(b.outcome)})"
        for b in full.boundary
    )
    return FactorImportance(
        not unresolved, reason, frame, d_null, full.deviance, int(members.y.size), members.n_dropped, notes
    )


def _add_holm(frame: pd.DataFrame, family_alpha: float) -> None:
    frame["p_holm"] = _NAN
    frame["reject_holm"] = False
    tested = frame["p"].notna().to_numpy()
    if tested.any():
        reject, p_holm, _, _ = multipletests(frame.loc[tested, "p"].to_numpy(), alpha=family_alpha, method="holm")
        frame.loc[tested, "p_holm"] = p_holm
        frame.loc[tested, "reject_holm"] = reject


def _unresolved_importance(reason, members=None, d_null=_NAN) -> FactorImportance:
    columns = ["term", "df", "lr_stat", "p", "p_holm", "reject_holm", "deviance_share", "rank", "reason"]
    n = int(members.y.size) if members is not None else 0
    n_dropped = members.n_dropped if members is not None else 0
    return FactorImportance(False, reason, pd.DataFrame(columns=columns), d_null, _NAN, n, n_dropped, ())


# ---------------------------------------------------------------- threshold sensitivity


def threshold_sensitivity(
    table: pd.DataFrame,
    factors: Sequence[str],
    vg_thresholds: Sequence[float] = VG_THRESHOLDS,
    eg_factors: Sequence[float] = EG_FACTORS,
    interactions: Sequence[Sequence[str]] = (),
    cluster: str | Sequence[str] | None = None,
    *,
    success: str = SUCCESS,
    credit_ratio: str = CREDIT_RATIO,
    grad_norm_max: str = GRAD_NORM_MAX,
    grad_norm_initial: str = GRAD_NORM_INITIAL,
    nonfinite: str | None = NONFINITE,
    level: float = LEVEL,
) -> ThresholdSensitivity:
    """Flags, pooled incidence and the VEG odds ratio at every (vg_threshold, eg_factor) pair.

    Johnston et al. 2025, digest papers/johnston.md section 4 ("report
    sensitivity to the thresholds: 1e-4 ... 1e-8 for VG and 1e2 ... 1e4 for
    EG") and checklist row 7 (conclusions stable across thresholds) [our
    protocol R]. For each pair: ``veg_flags``, then the pooled
    P(success | VEG) and P(success | no VEG) of ``incidence``, then the VEG
    odds ratio of ``success_regression`` with the same factors,
    interactions and clusters. The shares count members with the flag
    determined. Every pair gets a row; what cannot be computed there is NaN
    with the row's reason.
    """
    rows = []
    for vg_t, eg_f in itertools.product(vg_thresholds, eg_factors):
        flags = veg_flags(
            table, vg_t, eg_f, credit_ratio=credit_ratio, grad_norm_max=grad_norm_max,
            grad_norm_initial=grad_norm_initial, nonfinite=nonfinite,
        )  # fmt: skip
        rows.append(_sensitivity_row(flags, factors, interactions, cluster, success, level))
    frame = pd.DataFrame(rows)
    bad = int((~frame["resolved"]).sum()) if len(frame) else 0
    if not len(frame):
        return ThresholdSensitivity(False, "empty threshold grid", frame)
    reason = f"{bad} of {len(frame)} threshold pairs unresolved (see their reasons)" if bad else ""
    return ThresholdSensitivity(bad == 0, reason, frame)


def _share(flag: pd.Series) -> float:
    determined = flag.dropna()
    return float(determined.mean()) if len(determined) else _NAN


def _sensitivity_row(flags: VegFlags, factors, interactions, cluster, success, level) -> dict:
    row = {"vg_threshold": flags.vg_threshold, "eg_factor": flags.eg_factor, "n": flags.n}
    keys = ["share_vg", "share_eg", "share_veg"]
    keys += [f"{p}{s}" for p in ("p_success_flag", "p_success_noflag") for s in ("", "_lo", "_hi")]
    keys += ["odds_ratio", "or_lo", "or_hi", "p"]
    row.update(dict.fromkeys(keys, _NAN))
    if not flags.resolved:
        return {**row, "resolved": False, "reason": f"flags: {flags.reason}"}
    t = flags.table
    row.update(share_vg=_share(t[VG]), share_eg=_share(t[EG]), share_veg=_share(t[VEG]))
    inc = incidence(t, VEG, success=success, level=level)
    problems = []
    if inc.resolved:
        pooled = inc.pooled.iloc[0]
        row.update({k: float(pooled[k]) for k in keys[3:9]})
        if pooled["reason"]:
            problems.append(f"incidence: {pooled['reason']}")
    else:
        problems.append(f"incidence: {inc.reason}")
    reg = success_regression(t, factors, VEG, interactions, cluster, success=success, level=level)
    if reg.resolved:
        row.update(odds_ratio=reg.flag_odds_ratio, or_lo=reg.flag_or_lo, or_hi=reg.flag_or_hi, p=reg.flag_p)
        if not reg.boundary.empty:
            levels = ", ".join(f"{v}={lv}" for v, lv in zip(reg.boundary["variable"], reg.boundary["level"]))
            problems.append(f"regression: boundary levels {levels}")
    else:
        problems.append(f"regression: {reg.reason}")
    return {**row, "resolved": inc.resolved and reg.resolved, "reason": "; ".join(problems)}


# ---------------------------------------------------------------- everything at once


class SweepAnalysis(NamedTuple):
    """Flags, incidence, regression and factor importance of one sweep at one threshold pair."""

    flags: VegFlags
    incidence: Incidence
    regression: SuccessRegression
    importance: FactorImportance


def analyze_sweep(table: pd.DataFrame, factors: Sequence[str], vg_threshold: float = VG_THRESHOLD,
                  eg_factor: float = EG_FACTOR) -> SweepAnalysis:
    """Layers 1-3 of the digest's analysis (section 5) on a members table with VEG inputs and ``success``."""
    flags = veg_flags(table, vg_threshold, eg_factor)
    flagged = flags.table
    return SweepAnalysis(flags, incidence(flagged, VEG), success_regression(flagged, list(factors), VEG),
                         factor_importance(flagged, list(factors), VEG))
