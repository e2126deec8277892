"""Measurements taken inside the training scan.

A probe is a pure function ``fn(ctx) -> array`` of one member's
:class:`ProbeContext`, recorded at the training schedule. ``PROBES`` names
every probe a spec may ask for in ``record.probes``. ``fixed_points`` is
the one analysis of a trained member that runs after training, one member
at a time, rather than inside the scan.
"""

from . import basic, extrapolation, fixed_points, gradients, learnability, noise, ntk, outliers, transport
from .basic import Probe, ProbeContext

PROBES: dict[str, Probe] = {
    "loss": Probe("loss", basic.loss),
    "grad_norm": Probe("grad_norm", basic.grad_norm),
    "spectral_radius": Probe("spectral_radius", basic.spectral_radius),
    "eigenvalues": Probe("eigenvalues", basic.jacobian_eigenvalues),
    "bulk_radius": Probe("bulk_radius", outliers.bulk_radius_probe),
    "outlier": Probe("outlier", outliers.outlier_probe, (3,)),
    **transport.transport_probes(),
    **noise.noise_probes(),
    **gradients.gradient_probes(),
    **ntk.ntk_probes(),
}


def get_probe(name: str) -> Probe:
    if name not in PROBES:
        raise ValueError(f"record.probes: {name!r} is not a probe; allowed {sorted(PROBES)}")
    return PROBES[name]


__all__ = ["PROBES", "Probe", "ProbeContext", "get_probe"]
