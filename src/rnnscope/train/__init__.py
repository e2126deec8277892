"""Population training: one compiled program per chunk of members."""

from .population import (MemberState, PopulationResult, TaskConfig, TrainConfig, build_engine, select_members,
                         train_population)
from .schedule import record_steps

__all__ = ["MemberState", "PopulationResult", "TaskConfig", "TrainConfig", "build_engine", "record_steps",
           "select_members", "train_population"]
