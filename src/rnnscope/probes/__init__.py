"""Measurements taken inside the training scan."""

from .basic import PROBES, Probe, ProbeContext, get_probe

__all__ = ["PROBES", "Probe", "ProbeContext", "get_probe"]
