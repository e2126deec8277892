"""Recurrent models: a registry of :class:`~rnnscope.models.base.Model` bundles.

========== ==========================================================
name       model
========== ==========================================================
elman      tanh RNN
linear     discrete-time linear RNN (Proca et al. 2025)
ctrnn      continuous-time linear RNN with leak, Euler step cfg.dt
constgate  leaky tanh RNN with a fixed gate (Livi's ladder, rung 1)
sharedgate one learned scalar gate per step (rung 2)
diaggate   one learned gate per neuron (rung 3)
gru        standard GRU
lstm       standard LSTM, state (h, c)
lru        diagonal complex linear recurrence (LRU-style)
========== ==========================================================
"""

from __future__ import annotations

from . import ctrnn, elman, gates, gru, linear, lru, lstm
from .base import Model, ModelConfig

MODELS: dict[str, Model] = {
    "elman": elman.MODEL,
    "linear": linear.MODEL,
    "ctrnn": ctrnn.MODEL,
    "constgate": gates.CONSTGATE,
    "sharedgate": gates.SHAREDGATE,
    "diaggate": gates.DIAGGATE,
    "gru": gru.MODEL,
    "lstm": lstm.MODEL,
    "lru": lru.MODEL,
}


def get_model(name: str) -> Model:
    """The registered model called ``name``; ValueError naming the allowed ones otherwise."""
    try:
        return MODELS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(MODELS)
        raise ValueError(f"model.arch={name!r}: allowed {allowed}") from None


__all__ = ["MODELS", "Model", "ModelConfig", "get_model"]
