"""Closed forms and reduced dynamics of the studies rnnscope reproduces.

Each subpackage is the low-level layer for one paper: plain NumPy/SciPy
functions that mirror its equations, testable against a simulation of the
full network. Nothing here imports the training engine or the store.
"""
