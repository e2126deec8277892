"""The main job: train the capacity ladder, run two quick linear-RNN theory reproductions, write one report.

``run_demo(root)`` trains the spec ``demo.toml`` (ConstGate, SharedGate,
DiagGate, GRU and LSTM on the heavy-tailed-lag task of Livi 2026, three
seeds each) into the store ``root/demo``, runs the quick profile of two
linear-RNN theory reproductions (Bordelon et al. 2025: learning to
integrate, simulation against the outlier ODE; Proca et al. 2025: aligned
modes against the mode ODE and its closed forms) into ``root/demo/<name>``,
and writes ``root/demo/report.html``: claims, envelopes with fits, tau
spectra, beta and alpha over training, phases, eigenvalue clouds and the
members table. Each part is resumable: stored members are not retrained.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Callable, NamedTuple

import pandas as pd

from .experiments import REPRODUCTIONS, Finished, run_reproduction
from .report.html import build_report
from .runner import run_local
from .spec import Spec, parse_spec
from .store import Store

#: quick reproductions the demo runs beside the ladder (a few minutes on a 2-core machine)
DEMO_REPRODUCTIONS = ("integrate-rich", "proca-modes")


def demo_spec() -> Spec:
    """The demo's population (``src/rnnscope/demo.toml``, also ``examples/capacity_ladder.toml``)."""
    import tomllib

    return parse_spec(tomllib.loads(resources.files("rnnscope").joinpath("demo.toml").read_text()))


class DemoResult(NamedTuple):
    report: Path
    summary: pd.DataFrame  # one row per architecture
    reproductions: list[Finished]


def ladder_summary(members: pd.DataFrame) -> pd.DataFrame:
    """Per architecture: members, diverged, median final loss, the phase of most seeds, median beta_env and alpha."""
    rows = []
    for arch, g in members.groupby("model_arch", sort=False):
        labels = g["phase"].fillna("").tolist() if "phase" in g else []
        top = max(set(labels), key=labels.count) if labels else ""
        rows.append({"arch": arch, "members": len(g), "diverged": int(g["diverged"].sum()),
                     "median final loss": g["final_loss"].median(),
                     "phase (most seeds)": f"{top} ({labels.count(top)}/{len(labels)})" if labels else "",
                     "power-law window, audited": (f"{int(g['window_audit'].fillna(False).astype(bool).sum())}"
                                                   f"/{len(g)}") if "window_audit" in g else "",
                     "median beta": g["beta"].median() if "beta" in g else float("nan"),
                     "median beta_env": g["beta_env"].median() if "beta_env" in g else float("nan"),
                     "median alpha": g["alpha"].median() if "alpha" in g else float("nan")})
    return pd.DataFrame(rows)


def run_demo(root: Path, progress=None, stage: Callable[[str], None] = lambda _: None,
             spec: Spec | None = None, reproductions: tuple[str, ...] = DEMO_REPRODUCTIONS) -> DemoResult:
    """Train, reproduce, report (see the module docstring); ``stage`` hears what starts next."""
    spec = spec or demo_spec()
    store = Store(Path(root) / spec.name)
    stage(f"training the capacity ladder ({spec.name})")
    run_local(spec, store, progress)
    finished = []
    for name in reproductions:
        stage(f"reproducing {name} (quick)")
        finished.append(run_reproduction(REPRODUCTIONS[name], "quick", store.root / name))
    stage("measuring phases and writing the report")
    report = build_report(store.root, title="rnnscope demo: how do gated RNNs forget?", intro=demo_intro)
    members = pd.read_csv(store.root / "figures" / "members_with_phases.csv")
    return DemoResult(report, ladder_summary(members), finished)


def demo_intro(members: pd.DataFrame | None) -> str:
    """The question, how to read the page, and the per-architecture summary, as HTML."""
    table = ladder_summary(members).to_html(index=False, float_format=lambda v: f"{v:.3g}", border=0)
    return f"""
<p>Does a recurrent network forget <b>exponentially</b> (one time scale: <i>collapsed</i>) or as a
<b>power law</b> (a broad spread of time scales: <i>anti-collapsed</i>), and what decides it? Five
architectures, from one fixed gate (ConstGate) to per-neuron learned gates (DiagGate, GRU, LSTM), were
trained on a regression task whose lags are heavy-tailed (truncated Pareto). For every network the
page shows its forgetting envelope f(l) (how much the state at time t still depends on the input at
t - l) with exponential, power-law and tempered fits, the spectrum of its per-neuron time scales τ and
the exponent β of that spectrum's tail, the tail index α of its gradient noise, and the phase the
envelope and spectrum imply (Livi 2026). The phase rule ends with a runs test that, on the smooth
envelopes of trained networks, rejects the slight bend of any power-law window longer than about a dozen
lags; the column "power-law window, audited" repeats the gate with that test on 10 log-even lags. The
integrator reproduction checks a closed-form theory of
how linear networks learn one time scale (Bordelon et al. 2025). Everything below was measured in this
run; the members table is sortable and the store can be queried with <code>rnnscope query</code>.</p>
<h2>Summary per architecture</h2>{table}"""
