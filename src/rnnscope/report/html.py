"""A self-contained HTML report of a run: spec, claims, figures (embedded PNG) and a sortable members table.

``build_report(run_dir)`` reads the directory (``run_data.load_run``),
measures phases when the envelope and time-scale probes were recorded,
writes every figure as PNG under ``run_dir/figures`` and the page to
``run_dir/report.html``. The page needs no network and no files beside it.
"""

from __future__ import annotations

import base64
import html
import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import pandas as pd

from .. import __version__
from .run_data import load_run, measure_phases, phase_columns, group_labels
from .run_figures import Figure, run_figures

#: members tables longer than this show their first rows only (the store has them all)
MAX_TABLE_ROWS = 2000
#: members-table columns shown first, in this order, when present
LEADING_COLUMNS = ("cell", "seed", "phase", "envelope_winner", "window_audit", "beta", "beta_env", "alpha",
                   "final_loss", "final_accuracy", "success", "diverged", "diverged_step")
HIDDEN_COLUMNS = ("experiment", "chunk", "spec", "rnnscope_version", "git_commit", "jax_version", "platform")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1400px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; margin-top: 2rem; }
.meta { color: #666; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; position: sticky; top: 0; }
table.sortable th { cursor: pointer; } table.sortable th:hover { background: #e4e4e4; }
.pass { color: #18794e; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
.scroll { max-height: 32rem; overflow: auto; border: 1px solid #ddd; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9rem; margin-top: 0.3rem; }
pre { background: #f7f7f7; padding: 0.8rem; overflow: auto; font-size: 0.8rem; }
"""

# click a header to sort by it; numbers sort as numbers, a second click reverses
SORT_SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, col) {
    th.addEventListener('click', function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var up = th.dataset.dir !== 'asc'; th.dataset.dir = up ? 'asc' : 'desc';
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v ?? a.cells[col].textContent, y = b.cells[col].dataset.v ?? b.cells[col].textContent;
        var nx = parseFloat(x), ny = parseFloat(y);
        var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
        return up ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "<td data-v=''></td>"
    if isinstance(value, float):
        return f"<td data-v='{value!r}'>{value:.4g}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def members_html(members: pd.DataFrame) -> str:
    """The members table, sortable by any column (first ``MAX_TABLE_ROWS`` rows)."""
    shown = [c for c in LEADING_COLUMNS if c in members] + [
        c for c in members if c not in LEADING_COLUMNS and c not in HIDDEN_COLUMNS]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in shown)
    rows = []
    for record in members[shown].head(MAX_TABLE_ROWS).itertuples(index=False):
        rows.append("<tr>" + "".join(_cell(v) for v in record) + "</tr>")
    note = ""
    if len(members) > MAX_TABLE_ROWS:
        note = (f"<p class='meta'>First {MAX_TABLE_ROWS} of {len(members)} members; all are in the store "
                "(<code>rnnscope query</code>).</p>")
    return (f"{note}<div class='scroll'><table class='sortable' id='members'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def claims_html(title: str, claims) -> str:
    passed = sum(c.passed for c in claims)
    rows = "".join(
        f"<tr><td>{html.escape(c.claim)}</td><td>{html.escape(c.expected)}</td><td>{html.escape(c.measured)}</td>"
        f"<td class='{'pass' if c.passed else 'fail'}'>{'yes' if c.passed else 'NO'}</td></tr>" for c in claims)
    return (f"<h3>{html.escape(title)}: {passed}/{len(claims)} claims pass</h3><table class='claims'>"
            f"<thead><tr><th>claim</th><th>expected</th><th>measured</th><th>pass</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def figure_html(figure: Figure) -> str:
    data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    return (f"<figure><img alt='{html.escape(figure.path.stem)}' src='data:image/png;base64,{data}'>"
            f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>")


def code_line(members: pd.DataFrame | None) -> str:
    """Which code computed the members (one line per distinct version; several mean a mixed run)."""
    columns = [c for c in ("rnnscope_version", "git_commit", "jax_version", "platform") if members is not None
               and c in members]
    if not columns:
        return ""
    versions = members[columns].fillna("").drop_duplicates().itertuples(index=False)
    text = [", ".join(f"{c} {v}" for c, v in zip(columns, row) if v) for row in versions]
    prefix = "computed by " if len(text) == 1 else f"WARNING: mixed code, {len(text)} versions: "
    return prefix + "; ".join(text)


def summary_line(members: pd.DataFrame | None, probes) -> str:
    if members is None:
        return ""
    diverged = int(members["diverged"].sum())
    parts = [f"{len(members)} members", f"{diverged} diverged"]
    if members["success"].notna().any():
        parts.append(f"{int(members['success'].fillna(False).astype(bool).sum())} successful")
    if probes:
        parts.append("probes: " + ", ".join(probes))
    return " · ".join(parts)


def build_report(run_dir: str | Path, title: str | None = None,
                 intro: Callable[[pd.DataFrame | None], str] | None = None) -> Path:
    """Write ``run_dir/report.html`` (and ``run_dir/figures/*.png``) and return the page's path.

    ``intro``, given the members table with its measured phase columns,
    returns HTML placed under the title (the demo's summary).
    """
    run = load_run(run_dir)
    members = run.members
    sections = []
    figures: list[Figure] = []
    if members is not None:
        labels = group_labels(members, run.factors)
        phases = measure_phases(run)
        figures = run_figures(run, labels, phases, run.root / "figures")
        if phases is not None:
            members = pd.concat([members.reset_index(drop=True), phase_columns(phases)], axis=1)
            members.to_csv(run.root / "figures" / "members_with_phases.csv", index=False)
        members = members.assign(cell=labels.to_numpy()) if run.factors else members
    for name, claims in run.claims.items():
        sections.append(claims_html(name, claims))
    if sections:
        sections.insert(0, "<h2>Claims</h2>")
    figures += [Figure(p, f"{p.parent.name}: {p.stem.replace('_', ' ')}") for p in run.figures]
    if figures:
        sections.append("<h2>Figures</h2>" + "".join(figure_html(f) for f in figures))
    if members is not None:
        sections.append("<h2>Members</h2><p class='meta'>Click a column to sort.</p>" + members_html(members))
    if run.spec is not None:
        sections.append(f"<h2>Spec</h2><pre>{html.escape(json.dumps(run.spec, indent=2))}</pre>")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    heading = html.escape(title or f"rnnscope report: {run.name}")
    description = html.escape(run.spec.get("description", "")) if run.spec else ""
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{heading}</title><style>{STYLE}</style>"
            f"</head><body><h1>{heading}</h1><p class='meta'>{description}</p>"
            f"<p class='meta'>{html.escape(summary_line(run.members, run.probes))}</p>"
            f"<p class='meta'>{html.escape(code_line(run.members))}</p>"
            f"<p class='meta'>written {stamp} by rnnscope {__version__} from {html.escape(str(run.root))}</p>"
            f"{intro(members) if intro else ''}{''.join(sections)}<script>{SORT_SCRIPT}</script></body></html>")
    path = run.root / "report.html"
    path.write_text(page)
    return path
