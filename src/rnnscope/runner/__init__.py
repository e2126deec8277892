"""Runners: plan a spec into chunks, train them, write them to the store."""

from .plan import Chunk, Member, plan
from .local import run_chunk, run_local

__all__ = ["Chunk", "Member", "plan", "run_chunk", "run_local"]
