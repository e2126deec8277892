"""Plain matplotlib figures: eigenvalue clouds in the complex plane, line panels, bars and heatmaps.

Every function takes arrays and a path, writes one PNG and returns the path;
nothing here knows which experiment made the data.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..analysis import envelope as env  # noqa: E402
from ..analysis import spectrum  # noqa: E402


class Line(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    label: str = ""
    style: str = "-"
    color: str | None = None  # None: the next colour of the cycle


class Panel(NamedTuple):
    title: str
    xlabel: str
    ylabel: str
    lines: Sequence[Line]
    logx: bool = False
    logy: bool = False
    ylim: tuple[float, float] | None = None


def line_panels(panels: Sequence[Panel], path: Path) -> Path:
    """One row of line plots, each with its own axes, labels and legend."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.4), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for line in panel.lines:
            colour = {} if line.color is None else {"color": line.color}  # a colour in the style string stays
            ax.plot(line.x, line.y, line.style, label=line.label or None, lw=1.4, ms=3, **colour)
        ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
        if panel.logx:
            ax.set_xscale("log")
        if panel.logy:
            ax.set_yscale("log")
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        if any(line.label for line in panel.lines):
            ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def eigenvalue_clouds(
    spectra: Sequence[np.ndarray],
    titles: Sequence[str],
    path: Path,
    bulk_radius: float | Sequence[float] | None = None,
    targets: np.ndarray | None = None,
    trail: np.ndarray | None = None,
) -> Path:
    """Eigenvalues in the complex plane, one panel per snapshot of training.

    ``bulk_radius`` (one for all panels, or one per panel) draws the circle of
    the random bulk, ``targets`` marks the eigenvalues theory predicts (open
    circles), ``trail`` (complex, over time) draws the path of a tracked
    outlier on the last panel.
    """
    fig, axes = plt.subplots(1, len(spectra), figsize=(3.6 * len(spectra), 3.6), squeeze=False)
    everything = np.concatenate([np.ravel(s) for s in spectra] + ([np.ravel(targets)] if targets is not None else []))
    lim = 1.1 * max(1.0, float(np.nanmax(np.abs(everything))))
    radii = [bulk_radius] * len(spectra) if np.isscalar(bulk_radius) or bulk_radius is None else list(bulk_radius)
    for i, (ax, lam, title, radius) in enumerate(zip(axes[0], spectra, titles, radii)):
        if targets is not None:
            ax.scatter(np.real(targets), np.imag(targets), marker="o", s=140, facecolors="none", edgecolors="black",
                       label="theory")
        ax.scatter(np.real(lam), np.imag(lam), s=8, alpha=0.7)
        if radius is not None:
            ax.add_patch(plt.Circle((0, 0), radius, fill=False, ls="--", color="gray"))
        ax.axvline(1.0, color="red", lw=0.8, alpha=0.5)  # stability edge Re lambda = 1
        if trail is not None and i == len(spectra) - 1:
            ax.plot(np.real(trail), np.imag(trail), "-", color="tab:orange", lw=1, label="outlier path")
        ax.set(title=title, xlabel="Re λ", ylabel="Im λ", xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.grid(alpha=0.3)
    if targets is not None or trail is not None:
        axes[0][-1].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def grouped_bars(categories: Sequence[str], series: dict[str, Sequence[float]], path: Path, title: str = "",
                 ylabel: str = "") -> Path:
    """Bars of several named series side by side for each category (e.g. phase counts per architecture)."""
    fig, ax = plt.subplots(figsize=(1.2 + 1.3 * len(categories), 3.4))
    x = np.arange(len(categories))
    width = 0.8 / max(len(series), 1)
    for k, (name, values) in enumerate(series.items()):
        ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, label=name)
    ax.set_xticks(x, categories)
    ax.set(title=title, ylabel=ylabel)
    if series:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


class Marks(NamedTuple):
    """Points drawn over a heatmap, filled with the heatmap's colour scale (a black edge sets them apart)."""

    x: np.ndarray
    y: np.ndarray
    values: np.ndarray
    label: str = ""


class Heatmap(NamedTuple):
    """A field z(y, x) on a grid, optionally cut into labelled regions, with marks over it.

    ``z`` has shape (len(y), len(x)); NaN cells are drawn grey. ``regions``
    (same shape, integers) are outlined in black and ``region_names[i]`` is
    written at the centre of region i.
    """

    title: str
    xlabel: str
    ylabel: str
    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    zlabel: str = ""
    regions: np.ndarray | None = None
    region_names: Sequence[str] = ()
    marks: Sequence[Marks] = ()
    lognorm: bool = False


def heatmaps(panels: Sequence[Heatmap], path: Path) -> Path:
    """One row of heatmaps (pcolormesh, each with its colour bar), region outlines and overlaid marks."""
    from matplotlib.colors import LogNorm, Normalize

    fig, axes = plt.subplots(1, len(panels), figsize=(5.0 * len(panels), 4.0), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        z = np.ma.masked_invalid(np.asarray(panel.z, dtype=float))
        values = [z.compressed()] + [np.asarray(m.values, dtype=float) for m in panel.marks]
        values = np.concatenate([v[np.isfinite(v) & ((v > 0) if panel.lognorm else True)] for v in values])
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.1, 1.0)
        norm = LogNorm(lo, hi) if panel.lognorm else Normalize(lo, hi)
        cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")
        mesh = ax.pcolormesh(panel.x, panel.y, z, cmap=cmap, norm=norm, shading="nearest")
        fig.colorbar(mesh, ax=ax, label=panel.zlabel)
        if panel.regions is not None:
            regions = np.asarray(panel.regions)
            codes = np.unique(regions)
            if codes.size > 1:
                ax.contour(panel.x, panel.y, regions, levels=(codes[:-1] + codes[1:]) / 2, colors="black",
                           linewidths=1.0)
            xx, yy = np.meshgrid(panel.x, panel.y)
            for code in codes:
                if code < len(panel.region_names) and panel.region_names[code]:
                    inside = regions == code
                    ax.text(np.median(xx[inside]), np.median(yy[inside]), panel.region_names[code], ha="center",
                            va="center", fontsize=8, bbox=dict(facecolor="white", alpha=0.7, lw=0))
        for m in panel.marks:
            ax.scatter(m.x, m.y, c=m.values, cmap=cmap, norm=norm, s=60, edgecolors="black", linewidths=1.2,
                       label=m.label or None, zorder=3)
        ax.set(title=panel.title, xlabel=panel.xlabel, ylabel=panel.ylabel)
        if any(m.label for m in panel.marks):
            ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def envelope_panel(title: str, fits: env.EnvelopeFits) -> Panel:
    """f(l) on log-log axes with the exponential, power and tempered fits (winner named)."""
    lags = fits.lags
    lines = [Line(lags, np.exp(fits.log_f), "f(l), transport Γ0", "o")]
    e, p, t = fits.exponential, fits.power, fits.tempered
    lines.append(Line(lags, np.exp(e.a + e.b * lags), f"exponential, τ_env = {e.tau_env:.3g}", "-"))
    lines.append(Line(lags, np.exp(p.c + p.d * np.log(lags)), f"power, β = {p.beta:.3g}", "--"))
    lines.append(Line(lags, np.exp(t.a + t.d * np.log(lags) + t.b * lags), f"tempered, β = {t.beta:.3g}", ":"))
    # the axes follow the data: an extrapolated fit that misses by orders of magnitude leaves the frame
    lo, hi = np.exp(fits.log_f.min()), np.exp(fits.log_f.max())
    return Panel(f"{title} (winner: {fits.winner})", "lag l", "f(l)", lines, logx=True, logy=True,
                 ylim=(lo / 3, hi * 3))


def tau_ccdf_panel(title: str, spectra: dict[str, np.ndarray]) -> Panel:
    """Empirical CCDF P(tau > x) of each named tau sample, on log-log axes."""
    lines = []
    for name, tau in spectra.items():
        x = np.sort(spectrum.valid_tau(tau))
        if x.size:
            lines.append(Line(x, 1.0 - np.arange(x.size) / x.size, name, "-"))
    return Panel(title, "τ", "P(τ > x)", lines, logx=True, logy=True)


def eigenvalue_grid(rows: dict[str, Sequence[tuple[str, np.ndarray]]], path: Path) -> Path:
    """Eigenvalue clouds in the complex plane: one row per named group, one panel per (title, eigenvalues)."""
    ncols = max(len(panels) for panels in rows.values())
    fig, axes = plt.subplots(len(rows), ncols, figsize=(2.4 * ncols, 2.4 * len(rows)), squeeze=False)
    everything = np.concatenate([np.ravel(lam) for panels in rows.values() for _, lam in panels])
    finite = everything[np.isfinite(everything)]
    lim = 1.1 * max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.1
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 200))
    for axes_row, (group, panels) in zip(axes, rows.items()):
        for ax in axes_row[len(panels):]:
            ax.axis("off")
        for ax, (title, lam) in zip(axes_row, panels):
            ax.plot(circle.real, circle.imag, color="gray", lw=0.8, ls="--")  # |lambda| = 1
            ax.scatter(np.real(lam), np.imag(lam), s=7, alpha=0.7)
            ax.set(title=f"{group}\n{title}", xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
            ax.title.set_fontsize(8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    fig.supxlabel("Re λ", fontsize=9)
    fig.supylabel("Im λ", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def cell_heatmaps(panels: Sequence[tuple[str, np.ndarray]], rows: Sequence[str], cols: Sequence[str],
                  ylabel: str, xlabel: str, path: Path) -> Path:
    """Categorical heat maps z[row, col] with every cell's value written in it (NaN cells grey)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(1.6 + 0.9 * len(cols) * len(panels) + 1.2 * len(panels),
                                                      1.4 + 0.45 * len(rows)), squeeze=False)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.8")
    for ax, (title, z) in zip(axes[0], panels):
        z = np.ma.masked_invalid(np.asarray(z, float))
        image = ax.imshow(z, cmap=cmap, aspect="auto")
        fig.colorbar(image, ax=ax)
        for (i, j), v in np.ndenumerate(np.asarray(z.filled(np.nan))):
            if np.isfinite(v):
                ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color="white",
                        bbox=dict(facecolor="black", alpha=0.35, lw=0, pad=1))
        ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right", fontsize=8)
        ax.set_yticks(range(len(rows)), rows, fontsize=8)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
