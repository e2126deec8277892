"""Reproductions of Proca, Dominé, Shanahan & Mediano (2025), learning dynamics in linear RNNs.

``common`` holds what they share (full-batch gradient descent of bias-free
linear-RNN populations, aligned populations, the step-to-flow time map).
"""

from . import integration, modes, ntk, rotations, stability, transition

REPRODUCTIONS = (modes.REPRODUCTIONS + stability.REPRODUCTIONS + transition.REPRODUCTIONS + ntk.REPRODUCTIONS
                 + integration.REPRODUCTIONS + rotations.REPRODUCTIONS)
