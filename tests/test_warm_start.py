"""Warm starts: a second training phase continues the first, under switched forcing controls."""

import jax
import numpy as np
import pytest

from rnnscope.models.base import ModelConfig
from rnnscope.optim import OptimizerConfig
from rnnscope.train import TaskConfig, TrainConfig, train_population

TASK = TaskConfig("integration", (("kind", "leaky"), ("seq_len", 12), ("c", 0.3)))
MODEL = ModelConfig(arch="elman", hidden=6, input_dim=1, output_dim=1)
ADAM_NOISY = OptimizerConfig(name="adam", noise_mode="update")
SEEDS = np.arange(4)
HP = {"lr": np.full(4, 1e-2, np.float32), "noise_alpha": np.full(4, 1.5, np.float32),
      "noise_scale": np.full(4, 0.5, np.float32)}


def phase(steps, warm=None, opt=ADAM_NOISY, hp=HP, seeds=SEEDS, batch=8):
    cfg = TrainConfig(steps=steps, batch=batch, record_every=5, record_log_points=None, probe_batch=8,
                      eval_batch=16, block=4)
    return train_population(MODEL, TASK, opt, cfg, seeds, hp, warm_start=warm)


def leaves(result):
    return [np.asarray(a) for a in jax.tree.leaves(result.params)]


def test_two_phases_equal_one_uninterrupted_run():
    # same hyper-parameters in both phases: the moments, the noise key and the data
    # stream all continue, so the split must not change a single bit
    whole = phase(20)
    first = phase(10)
    second = phase(10, warm=first)
    for a, b in zip(leaves(whole), leaves(second)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(whole.final_loss, second.final_loss)
    assert second.record_steps.tolist() == [10, 15, 20]
    assert second.end_step == 20
    # the first record of the second phase is the first phase's end state
    np.testing.assert_allclose(second.trajectories["loss"][:, 0], first.trajectories["loss"][:, -1])


def test_switched_controls_take_effect_only_in_the_second_phase():
    first = phase(10)
    quiet = {**HP, "noise_scale": np.zeros(4, np.float32), "clip": np.full(4, 1e-3, np.float32)}
    switched = phase(10, warm=first, hp=quiet, batch=32)
    hyper = switched.opt_state.hyperparams
    np.testing.assert_allclose(hyper["clip_norm"], 1e-3)
    np.testing.assert_array_equal(hyper["noise_scale"], 0.0)
    # clipped at 1e-3 with Adam the update per step is at most lr in every entry, but the
    # noise is gone: compare with continuing unchanged, which keeps injecting noise
    unchanged = phase(10, warm=first)
    moved_quiet = max(np.max(np.abs(a - b)) for a, b in zip(leaves(switched), leaves(first)))
    moved_noisy = max(np.max(np.abs(a - b)) for a, b in zip(leaves(unchanged), leaves(first)))
    assert moved_quiet <= 10 * 1e-2 * (1 + 1e-5)
    assert moved_noisy > moved_quiet


def test_warm_start_errors_are_one_line():
    first = phase(5)
    with pytest.raises(ValueError, match="seeds"):
        phase(5, warm=first, seeds=SEEDS + 1)
    with pytest.raises(ValueError, match="optimiser chain differs"):
        phase(5, warm=first, opt=OptimizerConfig(name="adam"))
    with pytest.raises(ValueError, match="model differs"):
        cfg = TrainConfig(steps=5, batch=8, record_every=5, record_log_points=None, probe_batch=8, block=4)
        train_population(ModelConfig(arch="elman", hidden=7, input_dim=1, output_dim=1), TASK, ADAM_NOISY, cfg,
                         SEEDS, HP, warm_start=first)


def test_selected_copies_continue_like_their_original():
    from rnnscope.train import select_members

    first = phase(10)
    copies = select_members(first, [1, 1, 3, 1])
    hp = {k: v[[1, 1, 3, 1]].copy() for k, v in HP.items()}
    hp["clip"] = np.array([np.inf, 1e-3, np.inf, np.inf], np.float32)
    branched = phase(10, warm=copies, hp=hp, seeds=SEEDS[[1, 1, 3, 1]])
    straight = phase(10, warm=first)
    for a, b in zip(leaves(branched), leaves(straight)):
        np.testing.assert_array_equal(a[[0, 3]], b[[1, 1]])  # unchanged levels: the original's continuation
        np.testing.assert_array_equal(a[2], b[3])
        assert not np.array_equal(a[1], b[1]) or a[1].size == 0  # the clipped copy went its own way


def test_optimizer_config_sets_the_levels_hp_leaves_out():
    opt = OptimizerConfig(name="adam", learning_rate=3e-4, clip_norm=0.5)
    cfg = TrainConfig(steps=2, batch=4, record_every=2, record_log_points=None, probe_batch=4, eval_batch=4, block=4)
    res = train_population(MODEL, TASK, opt, cfg, SEEDS, {"clip": np.full(4, 2.0, np.float32)})
    hyper = res.opt_state.hyperparams
    np.testing.assert_allclose(hyper["learning_rate"], 3e-4)  # from the config
    np.testing.assert_allclose(hyper["clip_norm"], 2.0)  # hp wins over the config
