"""Figures (matplotlib, PNG) for reproductions and runs."""
