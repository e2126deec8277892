"""Reproductions of Proca, Dominé, Shanahan & Mediano (2025), learning dynamics in linear RNNs."""
