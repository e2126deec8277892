"""Simulator of the coarse-grained log-rate process zeta = -log tau (Livi 2026, digest section 5.2).

The digest's simulation scaffold [inferred there; the paper's SDE could not be
read]: M particles zeta per population, Euler steps

    zeta <- zeta + F(zeta) dt + sigma_g sqrt(dt) xi + J,
    F(zeta) = kappa tanh(-k (zeta - m) / kappa),

F restores the bulk toward m with slope k and saturates to +kappa as
zeta -> -inf (the long-time-scale side, tau = exp(-zeta)); xi ~ N(0, 1); J is
the jump part over dt, toward long time scales (J <= 0 up to a compensator):

- ``"none"``: J = 0.
- ``"exponential"``: compound Poisson, intensity ``jump_rate`` (lam), sizes
  Exp(``jump_theta``). Exact over dt: N ~ Poisson(lam dt) (by inversion), J =
  -(sum of N Exp(theta) draws).
- ``"tempered_stable"``: Levy measure Pi(dy) = c y^{-1-alpha} e^{-lam_t y} dy on
  jump sizes y > 0 (``jump_c``, ``alpha``, ``lam_t``). alpha in (0, 1): J is
  minus a tempered-stable subordinator increment (no compensator, mean
  c Gamma(1 - alpha) lam_t^(alpha-1) dt toward long tau); alpha in (1, 2): the
  jumps are compensated (zero-mean J; forced, since int_0^1 y Pi(dy) = inf).
- ``"stable"``: the same with lam_t = 0 (``lam_t`` is ignored).

Simulation of the stable family (our choice, exact for alpha < 1): the
increment over dt of the untempered process is a totally skewed stable
variable S_alpha(sigma_dt, 1, 0) (S1 parameterisation), sigma_dt^alpha =
-c Gamma(-alpha) cos(pi alpha / 2) dt, drawn by the Chambers-Mallows-Stuck
formula (``skewed_stable``). Tempering is exponential tilting of that
increment, density e^{-lam_t x} f(x) / E e^{-lam_t X}: a candidate x is kept
with probability exp(-lam_t (x + a)) (rejection; Baeumer & Meerschaert 2010,
"Tempered stable Levy motion and transient super-diffusion", J. Comput.
Appl. Math. 233). For alpha < 1, X >= 0 and a = 0: exact. For alpha > 1, X
can be negative and a > 0 is a shift below which every candidate is kept; the
target's mass below -a is at most exp(min_{s > lam_t} [-(s - lam_t) a +
dt c Gamma(-alpha)(s^alpha - lam_t^alpha)]) (Chernoff), and a is solved so
that this bound is ``shift_tol`` dt per increment. The tilted compensated
variable has mean -D dt, D = c Gamma(2 - alpha) lam_t^(alpha-1) / (alpha - 1),
which is added back. There is no small-jump truncation.

Everything runs in float32 JAX. Parameters (kappa, k, m, sigma_g, ...) are
scalars or arrays of shape (n_populations,): one compiled program serves a
grid of settings, and it is reused for every call with the same static
fields (jump law, n_steps, n_particles, n_populations, record_every,
max_tries; the boundary is passed as an array code). Population p draws
from PRNGKey(seed_p) only, so its result depends only on its own parameters,
its seed and n_particles, never on the other populations of the call.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize
from scipy.special import gamma as gamma_fn

JUMP_LAWS = ("none", "exponential", "tempered_stable", "stable")
BOUNDARIES = ("none", "reflecting", "absorbing")
ARRAY_FIELDS = ("kappa", "k", "m", "sigma_g", "jump_rate", "jump_theta", "alpha", "jump_c", "lam_t",
                "zeta_min", "zeta0", "dt", "seed")
REJECTION_FAIL = 1e-9  # our choice: the largest allowed chance that a tilted draw exhausts max_tries


class ProcessConfig(NamedTuple):
    """Every parameter of the log-rate process simulation (``validate`` checks them).

    Array-able fields (scalar, or shape (n_populations,)): kappa (far-left drift
    plateau, > 0), k (bulk restoring slope, > 0), m (bulk centre), sigma_g
    (Gaussian noise, >= 0), jump_rate and jump_theta (exponential jumps:
    intensity >= 0, size rate > 0), alpha (stable index in (0, 1) or (1, 2)),
    jump_c (Levy density coefficient c >= 0 of Pi(dy) = c y^{-1-alpha} e^{-lam_t y} dy),
    lam_t (tempering rate > 0, tempered_stable only), zeta_min (boundary
    position), zeta0 (initial zeta of every particle; None: m), dt (> 0), seed
    (population p uses seed_p; a scalar seed s gives population p the seed s + p).

    Other fields: jumps (``JUMP_LAWS``), boundary (``BOUNDARIES``: reflecting
    projects zeta back to max(zeta, zeta_min), the Skorokhod map, our choice
    over mirroring, which would throw a big jump back into the bulk; absorbing
    freezes a particle at zeta_min and flags it), n_steps, n_particles (M),
    n_populations, record_every (0: no snapshots; else a snapshot every that
    many steps, which must divide n_steps), max_tries (cap on the rejection
    rounds of a tilted-stable draw, our choice 256; a config whose acceptance
    A gives (1 - A)^max_tries > 1e-9 is refused: lower dt), shift_tol (the
    alpha > 1 tilted sampler's total-variation error is at most shift_tol dt
    per increment, our choice 1e-6 per unit time; it moves the Lundberg root
    by at most about 2 shift_tol / (-psi'(beta))).
    """

    kappa: object = 1.0
    k: object = 1.0
    m: object = 0.0
    sigma_g: object = 1.0
    jumps: str = "none"
    jump_rate: object = 0.0
    jump_theta: object = 1.0
    alpha: object = 1.5
    jump_c: object = 0.0
    lam_t: object = 1.0
    boundary: str = "none"
    zeta_min: object = -50.0
    zeta0: object = None
    dt: object = 0.01
    n_steps: int = 1000
    n_particles: int = 1024
    n_populations: int = 1
    record_every: int = 0
    seed: object = 0
    max_tries: int = 256
    shift_tol: float = 1e-6


class ProcessResult(NamedTuple):
    """Final zeta (n_populations, M), absorbed flags (same shape), snapshots (n_snap, n_populations, M) and their times."""

    zeta: np.ndarray
    absorbed: np.ndarray
    snapshots: np.ndarray
    snapshot_times: np.ndarray


def _bad(name, value, what):
    text = " ".join(repr(value).split())  # one line, also for long arrays
    if len(text) > 60:
        text = text[:57] + "..."
    return ValueError(f"{name}={text}: {what}")


def _as_int(cfg, name, low):
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise _bad(name, value, f"must be an integer >= {low}")
    return int(value)


def population_params(cfg: ProcessConfig) -> dict[str, np.ndarray]:
    """Validate ``cfg`` and return every array-able field as a float64 array of shape (n_populations,).

    Raises ValueError with one line naming the field, its value and what is allowed.
    """
    if cfg.jumps not in JUMP_LAWS:
        raise _bad("jumps", cfg.jumps, f"allowed {', '.join(map(repr, JUMP_LAWS))}")
    if cfg.boundary not in BOUNDARIES:
        raise _bad("boundary", cfg.boundary, f"allowed {', '.join(map(repr, BOUNDARIES))}")
    n_pop = _as_int(cfg, "n_populations", 1)
    n_steps = _as_int(cfg, "n_steps", 1)
    _as_int(cfg, "n_particles", 1)
    _as_int(cfg, "max_tries", 1)
    every = _as_int(cfg, "record_every", 0)
    if every and n_steps % every:
        raise _bad("record_every", every, f"must divide n_steps={n_steps}")
    if isinstance(cfg.shift_tol, bool) or not (isinstance(cfg.shift_tol, (int, float)) and 0.0 < cfg.shift_tol < 1e-2):
        raise _bad("shift_tol", cfg.shift_tol, "must be a number in (0, 0.01)")

    rows = {}
    for name in ARRAY_FIELDS:
        value = getattr(cfg, name)
        if name == "zeta0" and value is None:
            value = cfg.m
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise _bad(name, value, "must be a real number or an array of them") from None
        if arr.shape not in ((), (n_pop,)):
            raise _bad(name, value, f"must be a scalar or have shape ({n_pop},) (n_populations), got {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise _bad(name, value, "must be finite")
        rows[name] = np.broadcast_to(arr, (n_pop,)).astype(float)

    def need(name, ok, what):
        if not np.all(ok):
            raise _bad(name, getattr(cfg, name), what)

    need("kappa", rows["kappa"] > 0, "must be > 0 (the far-left drift plateau)")
    need("k", rows["k"] > 0, "must be > 0 (the bulk restoring slope)")
    need("sigma_g", rows["sigma_g"] >= 0, "must be >= 0")
    need("dt", rows["dt"] > 0, "must be > 0")
    seed = rows["seed"]
    if not np.all((seed == np.round(seed)) & (seed >= 0) & (seed < 2**32 - n_pop)):
        raise _bad("seed", cfg.seed, "must be a non-negative integer (or an array of them)")
    if np.ndim(cfg.seed) == 0:
        rows["seed"] = seed + np.arange(n_pop)
    if cfg.jumps == "exponential":
        need("jump_rate", rows["jump_rate"] >= 0, "must be >= 0")
        need("jump_theta", rows["jump_theta"] > 0, "must be > 0")
    if cfg.jumps in ("tempered_stable", "stable"):
        a = rows["alpha"]
        need("alpha", (a > 0) & (a < 2) & (a != 1), "must be in (0, 1) or (1, 2)")
        need("jump_c", rows["jump_c"] >= 0, "must be >= 0")
        if cfg.jumps == "tempered_stable":
            need("lam_t", rows["lam_t"] > 0, "must be > 0 (use jumps='stable' for the untempered law)")
        else:
            rows["lam_t"] = np.zeros(n_pop)
    if cfg.boundary != "none":
        need("zeta_min", rows["zeta_min"] < rows["zeta0"], "must be < zeta0 (the initial zeta)")
    return rows


def validate(cfg: ProcessConfig) -> ProcessConfig:
    """Check every field; return ``cfg`` unchanged or raise a one-line ValueError."""
    _stable_constants(population_params(cfg), cfg)
    return cfg


def drift(zeta, kappa, k, m):
    """F(zeta) = kappa tanh(-k (zeta - m) / kappa): slope -k at m, -> +kappa as zeta -> -inf, -kappa as zeta -> +inf."""
    return kappa * jnp.tanh(-k * (zeta - m) / kappa)


def skewed_stable(key, alpha, shape=(), dtype=jnp.float32):
    """Totally skewed (beta = 1) standard stable variates S_alpha(1, 1, 0), S1 parameterisation, alpha != 1.

    Chambers-Mallows-Stuck with Weron's correction: V ~ U(-pi/2, pi/2), W ~ Exp(1),
    B = arctan(tan(pi alpha/2)) / alpha (pi/2 for alpha < 1, pi/2 - pi/alpha for alpha > 1),
    S = |cos(pi alpha / 2)|^(-1/alpha),

        X = S sin(alpha (V + B)) / cos(V)^(1/alpha) [cos(V - alpha (V + B)) / W]^((1 - alpha)/alpha).

    Computed in phi = V + pi/2 in (0, pi), where the formula reads

        X = s_a S sin(alpha phi) / sin(phi)^(1/alpha) [sin(|1 - alpha| phi) / W]^((1 - alpha)/alpha),

    s_a = +1 for alpha < 1 and -1 for alpha > 1 (sin(alpha phi - pi) = -sin(alpha phi),
    cos(pi/2 + (1 - alpha) phi) = sin((alpha - 1) phi)). In V, for alpha > 1, both
    sin(alpha (V + B)) and cos(V - alpha (V + B)) vanish as V -> -pi/2 and float32
    cancellation turned their finite ratio into values of 1e9 or inf (about one draw
    in 1e7); in phi every factor is a sine of a small, exactly represented angle.
    sin(phi) is taken as sin(pi min(u, 1 - u)) so that it is accurate at both ends.

    Characteristic function exp(-|t|^alpha (1 - i sign(t) tan(pi alpha / 2))),
    scipy's ``levy_stable(alpha, 1)``. X >= 0 for alpha < 1; mean 0 for
    alpha > 1 (the heavy tail is on the right). ``alpha`` may be a traced array
    broadcastable to ``shape``. u is kept strictly inside (0, 1); W and the sines
    are floored at the smallest normal number.
    References: Chambers, Mallows & Stuck, JASA 71 (1976) 340; Weron, Statist.
    Probab. Lett. 28 (1996) 165.
    """
    dtype = jnp.dtype(dtype)
    tiny = jnp.finfo(dtype).tiny
    eps = jnp.finfo(dtype).eps
    key_v, key_w = jax.random.split(key)
    u = jnp.clip(jax.random.uniform(key_v, shape, dtype), eps / 2, 1 - eps / 2)
    w = jnp.maximum(jax.random.exponential(key_w, shape, dtype), tiny)
    alpha = jnp.asarray(alpha, dtype)
    phi = math.pi * u
    sin_phi = jnp.maximum(jnp.sin(math.pi * jnp.minimum(u, 1 - u)), tiny)
    sign = jnp.where(alpha < 1, 1.0, -1.0)
    scale = jnp.abs(jnp.cos(math.pi * alpha / 2)) ** (-1 / alpha)
    inner = jnp.maximum(jnp.sin(jnp.abs(1 - alpha) * phi), tiny) / w
    return (sign * scale * jnp.sin(alpha * phi) / sin_phi ** (1 / alpha)
            * inner ** ((1 - alpha) / alpha)).astype(dtype)


def stable_scale_dt(c, alpha, dt):
    """sigma_dt of the stable increment over dt: sigma_dt^alpha = -c Gamma(-alpha) cos(pi alpha / 2) dt.

    Matches int (e^{i t y} - 1 [- i t y]) c y^{-1-alpha} dy = c Gamma(-alpha) (-i t)^alpha
    with S1's exp(-sigma^alpha |t|^alpha (1 - i sign t tan(pi alpha/2))) (Samorodnitsky & Taqqu 1994, 1.2.3).
    """
    c, alpha, dt = (np.asarray(v, dtype=float) for v in (c, alpha, dt))
    return (-c * gamma_fn(-alpha) * np.cos(np.pi * alpha / 2) * dt) ** (1.0 / alpha)


def _shift(c, alpha, lam, dt, tol):
    """Smallest a with Chernoff bound exp(min_{s>lam} [-(s - lam) a + C (s^alpha - lam^alpha)]) = tol, C = dt c Gamma(-alpha)."""
    big_c = dt * c * gamma_fn(-alpha)
    a_min = big_c * alpha * lam ** (alpha - 1.0)  # below it the minimiser is s = lam and the bound is 1

    def log_bound(a):
        s = (a / (big_c * alpha)) ** (1.0 / (alpha - 1.0))
        return -(s - lam) * a + big_c * (s**alpha - lam**alpha) - math.log(tol)

    hi = 2.0 * a_min + 1e-12
    while log_bound(hi) > 0:
        hi *= 2.0
    return scipy.optimize.brentq(log_bound, a_min, hi, xtol=1e-15, rtol=1e-10)


def _stable_constants(rows, cfg):
    """Per-population float64 constants of the stable-family sampler: scale, shift, compensator, acceptance."""
    n_pop = cfg.n_populations
    out = {"scale": np.zeros(n_pop), "shift": np.zeros(n_pop), "comp": np.zeros(n_pop), "acceptance": np.ones(n_pop)}
    if cfg.jumps not in ("tempered_stable", "stable"):
        return out
    for p in range(n_pop):
        c, alpha, lam, dt = rows["jump_c"][p], rows["alpha"][p], rows["lam_t"][p], rows["dt"][p]
        if c == 0.0:
            continue
        out["scale"][p] = stable_scale_dt(c, alpha, dt)
        if lam == 0.0:
            continue
        log_laplace = dt * c * gamma_fn(-alpha) * lam**alpha  # log E e^{-lam X}
        if alpha > 1.0:
            out["shift"][p] = _shift(c, alpha, lam, dt, cfg.shift_tol * dt)
            out["comp"][p] = dt * c * gamma_fn(2.0 - alpha) * lam ** (alpha - 1.0) / (alpha - 1.0)
        acceptance = out["acceptance"][p] = min(1.0, math.exp(log_laplace - lam * out["shift"][p]))
        if acceptance < 1 and cfg.max_tries * math.log1p(-acceptance) > math.log(REJECTION_FAIL):
            raise _bad("dt", cfg.dt, f"too large for the tempered-stable sampler of population {p}: acceptance "
                                     f"{acceptance:.3g} exhausts max_tries={cfg.max_tries} too often; lower dt")
    return out


def _poisson_small(key, mean, n):
    """N ~ Poisson(mean) by inversion of the CDF (exact up to float32 rounding of the CDF).

    jax.random.poisson picks its algorithm with a branch on the mean, which
    under vmap over populations evaluates both (about 6x slower here); the
    means in this module are small (jump_rate dt), where inversion needs
    N + 1 comparisons. Capped at 64 (a float32 CDF stops growing near 1).
    """
    u = jax.random.uniform(key, (n,))
    p0 = jnp.exp(-mean)

    def body(state):
        j, count, pmf, cdf = state
        below = u >= cdf
        pmf = pmf * mean / (j + 1)
        return j + 1, count + below, pmf, cdf + pmf

    def cond(state):
        return (state[0] < 64) & jnp.any(u >= state[3])

    init = (0, jnp.zeros(n, dtype=jnp.int32), p0, jnp.full((n,), p0))
    return jax.lax.while_loop(cond, body, init)[1]


def _exponential_jump(key, rate_dt, theta, n):
    """-(sum of N ~ Poisson(rate_dt) draws of Exp(theta)): the exact compound-Poisson increment over dt."""
    key_n, key_y = jax.random.split(key)
    count = _poisson_small(key_n, rate_dt, n)

    def body(state):
        j, total = state
        size = jax.random.exponential(jax.random.fold_in(key_y, j), (n,))
        return j + 1, total + jnp.where(j < count, size, 0.0)

    _, total = jax.lax.while_loop(lambda s: s[0] < jnp.max(count), body, (0, jnp.zeros(n)))
    return -total / theta


def _stable_jump(key, alpha, scale, lam, shift, comp, n, max_tries):
    """-(tilted stable increment + compensator): rejection on exp(-lam (x + shift)).

    Round 0 draws a candidate for every particle. The rejected ones are then
    packed (``jnp.nonzero`` with a static size) into a buffer of n // 8 slots,
    redrawn there until each is accepted or has had ``max_tries`` tries
    (validated to happen with probability < 1e-9) and scattered back; more
    than n // 8 rejections take further passes. The keys depend only on the
    pass and round numbers and the buffer size only on n, so a population's
    draws depend only on its own parameters, seed and n_particles, not on what
    else is batched with it.
    """
    tiny = jnp.finfo(jnp.float32).tiny

    def draw(k, size):
        key_x, key_u = jax.random.split(k)
        cand = scale * skewed_stable(key_x, alpha, (size,))
        u = jax.random.uniform(key_u, (size,), minval=tiny)
        return cand, jnp.log(u) <= -lam * (cand + shift)

    x, done = draw(jax.random.fold_in(key, 0), n)
    slots = max(1, n // 8)

    def one_pass(state):
        p, x, done = state
        (idx,) = jnp.nonzero(~done, size=slots, fill_value=n)
        pass_key = jax.random.fold_in(key, p)

        def retry(inner):
            r, bx, bdone = inner
            cand, keep = draw(jax.random.fold_in(pass_key, r), slots)
            return r + 1, jnp.where(bdone, bx, cand), bdone | keep

        def unfinished(inner):
            return (inner[0] < max_tries) & ~jnp.all(inner[2])

        # filler slots (idx == n) start done; real slots start rejected
        init = (0, jnp.zeros(slots), idx >= n)
        _, bx, _ = jax.lax.while_loop(unfinished, retry, init)
        x = x.at[idx].set(bx, mode="drop")
        done = done.at[idx].set(True, mode="drop")  # accepted, or out of tries (kept as the last candidate)
        return p + 1, x, done

    def more(state):
        return (state[0] <= -(-n // slots)) & ~jnp.all(state[2])

    _, x, _ = jax.lax.while_loop(more, one_pass, (1, x, done))
    return -(x + comp)


def _step(p, state, t, *, law, n, max_tries):
    zeta, absorbed = state
    key = jax.random.fold_in(p["key"], t)
    key_g, key_j = jax.random.split(key)
    new = zeta + drift(zeta, p["kappa"], p["k"], p["m"]) * p["dt"] + p["noise"] * jax.random.normal(key_g, (n,))
    if law == "exponential":
        new = new + _exponential_jump(key_j, p["rate_dt"], p["jump_theta"], n)
    elif law == "stable":
        new = new + _stable_jump(key_j, p["alpha"], p["scale"], p["lam_t"], p["shift"], p["comp"], n, max_tries)
    # boundary code (an array, so one compiled program serves every boundary): 0 none, 1 reflecting, 2 absorbing
    new = jnp.where(p["boundary"] == 1, jnp.maximum(new, p["zeta_min"]), new)
    absorbed = absorbed | ((p["boundary"] == 2) & (new <= p["zeta_min"]))
    return jnp.where(absorbed, p["zeta_min"], new), absorbed


@functools.partial(jax.jit, static_argnames=("law", "n_steps", "n", "record_every", "max_tries"))
def _run(params, *, law, n_steps, n, record_every, max_tries):
    step = jax.vmap(functools.partial(_step, law=law, n=n, max_tries=max_tries),
                    in_axes=(0, 0, None))
    zeta0 = jnp.broadcast_to(params["zeta0"][:, None], (params["zeta0"].shape[0], n))
    state = (zeta0, jnp.zeros(zeta0.shape, dtype=bool))

    def one(state, t):
        return step(params, state, t), None

    if not record_every:
        state, _ = jax.lax.scan(one, state, jnp.arange(n_steps))
        return state, jnp.zeros((0,) + zeta0.shape)

    def chunk(state, start):
        state, _ = jax.lax.scan(one, state, start + jnp.arange(record_every))
        return state, state[0]

    state, snaps = jax.lax.scan(chunk, state, jnp.arange(0, n_steps, record_every))
    return state, snaps


def simulate(cfg: ProcessConfig) -> ProcessResult:
    """Run ``cfg.n_steps`` Euler steps for every population at once; return the final zeta and snapshots.

    Particles start at zeta0 (default m). ``zeta`` has shape
    (n_populations, n_particles); ``snapshots`` (n_steps / record_every,
    n_populations, n_particles), taken after steps record_every, 2 record_every,
    ...; ``snapshot_times`` their times in units of t (step count times dt, per
    population: shape (n_snap, n_populations)). Absorbed particles sit at
    zeta_min with ``absorbed`` True. Float32 throughout; non-finite values can
    only arise from untempered alpha < 1 jumps overflowing (the runaway regime).
    """
    rows = population_params(cfg)
    consts = _stable_constants(rows, cfg)
    del consts["acceptance"]
    seeds = rows["seed"].astype(np.uint32)
    params = {
        "key": jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds)),
        "noise": rows["sigma_g"] * np.sqrt(rows["dt"]),
        "rate_dt": rows["jump_rate"] * rows["dt"],
        "boundary": np.full(cfg.n_populations, BOUNDARIES.index(cfg.boundary)),
        **{name: rows[name] for name in ("kappa", "k", "m", "dt", "jump_theta", "alpha", "lam_t", "zeta_min",
                                         "zeta0")},
        **consts,
    }
    params = {name: (value if name == "key" else jnp.asarray(value, dtype=jnp.float32))
              for name, value in params.items()}
    law = "stable" if cfg.jumps == "tempered_stable" else cfg.jumps  # one kernel: "stable" is lam_t = 0
    (zeta, absorbed), snaps = _run(params, law=law, n_steps=cfg.n_steps,
                                   n=cfg.n_particles, record_every=cfg.record_every, max_tries=cfg.max_tries)
    every = cfg.record_every
    times = (np.arange(1, cfg.n_steps // every + 1)[:, None] * every * rows["dt"][None, :] if every
             else np.zeros((0, cfg.n_populations)))
    return ProcessResult(np.asarray(zeta), np.asarray(absorbed), np.asarray(snaps), times)


def to_tau(zeta) -> np.ndarray:
    """tau = exp(-zeta) in float64, the input of ``rnnscope.analysis.spectrum`` (non-finite zeta gives an invalid tau)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.exp(-np.asarray(zeta, dtype=float))


def tau_spectrum(result: ProcessResult, population: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(tau, valid) of one population (or all, flattened): absorbed particles are invalid, as a neuron without a fit."""
    zeta, absorbed = result.zeta, result.absorbed
    if population is not None:
        zeta, absorbed = zeta[population], absorbed[population]
    tau = to_tau(zeta).ravel()
    return tau, ~np.asarray(absorbed).ravel() & np.isfinite(tau) & (tau > 0)
