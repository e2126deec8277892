"""Bad specs: every one gets one line naming the field, and nothing is written.

Property tests mutate a valid spec in one place (a wrong type, a
non-positive size, an unknown name or field, a NaN or negative rate, a lag
longer than the sequence, an empty or unknown grid factor) and check that
validation and planning refuse it with a ``SpecError`` whose single line
names the field. The command line is checked on a sample of the same
mutations: exit status 2, one line on stderr, no traceback, no store.
"""

import copy
import math
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnscope.runner import plan
from rnnscope.spec import SpecError, parse_spec

VALID = {
    "name": "valid", "seeds": 2, "steps": 5, "batch": 4,
    "task": {"name": "recall", "seq_len": 12, "lag": 3},
    "model": {"arch": "elman", "hidden": 4},
    "optimizer": {"name": "sgd", "lr": 0.01},
    "record": {"log_points": 2, "probes": ["loss"]},
    "grid": {"optimizer.lr": [0.01, 0.1]},
}
INT_FIELDS = [("steps",), ("batch",), ("chunk_size",), ("block",), ("eval_batch",), ("model", "hidden"),
              ("record", "probe_batch"), ("record", "log_points")]
RATE_FIELDS = [("optimizer", "lr"), ("optimizer", "clip"), ("model", "init_scale"), ("optimizer", "weight_decay")]
NAMED = {("model", "arch"): "elman", ("optimizer", "name"): "sgd", ("task", "name"): "recall"}


def with_value(path, value):
    spec = copy.deepcopy(VALID)
    target = spec
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return spec


def refused(spec) -> str:
    with pytest.raises(SpecError) as err:
        plan(parse_spec(spec))
    message = str(err.value)
    assert "\n" not in message and message
    return message


def test_the_valid_spec_is_accepted():
    chunks, total = plan(parse_spec(VALID))
    assert total == 4


def test_bias_free_networks_are_linear_and_bias_is_a_strict_boolean():
    assert "bias" in refused(with_value(("model", "bias"), False))  # an Elman keeps its biases
    assert "bias" in refused(with_value(("model", "bias"), "no"))
    linear = with_value(("model", "arch"), "linear")
    linear["model"]["bias"] = False
    chunks, _ = plan(parse_spec(linear))
    assert chunks[0].static[0].bias is False


def test_member_ids_survive_fields_added_later():
    # the ids the valid spec's members had before `model.bias` existed: a store written then must resume
    # without training its members twice
    from rnnscope.spec import member_id, member_specs
    spec = parse_spec(VALID)
    assert [member_id(spec.name, cfg, seed) for cfg, seed in member_specs(spec)] == \
        ["1b50d5fe34188b81", "bfd50e356b25445d", "357653efaa8860a7", "4a781dfc52e7959e"]


not_an_int = st.one_of(st.text(max_size=5), st.booleans(), st.floats(allow_nan=True),
                       st.lists(st.integers(), max_size=2), st.none())


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(INT_FIELDS), not_an_int)
def test_wrong_types_for_integers(path, value):
    if path == ("record", "log_points") and value is None:
        return  # log_points = null is allowed (record every k steps instead)
    assert path[-1] in refused(with_value(path, value))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(INT_FIELDS), st.integers(max_value=0))
def test_sizes_must_be_positive(path, value):
    if path == ("record", "log_points") and value >= 2:
        return
    assert path[-1] in refused(with_value(path, value))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(RATE_FIELDS),
       st.one_of(st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                 st.floats(max_value=-1e-9, allow_nan=False)))
def test_rates_must_be_finite_and_non_negative(path, value):
    assert path[-1] in refused(with_value(path, value))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(NAMED)), st.text(min_size=1, max_size=12))
def test_unknown_names(path, name):
    if name in ("elman", "linear", "ctrnn", "constgate", "sharedgate", "diaggate", "gru", "lstm", "lru", "sgd",
                "momentum", "adam", "adamw", "rmsprop", "integration", "recall", "multilag", "multilag_pareto",
                "adding", "latch"):
        return
    assert path[-1] in refused(with_value(path, name))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["model", "optimizer", "record", None]),
       st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=3, max_size=10))
def test_unknown_fields(section, field):
    known = {"model": ["arch", "hidden", "init", "init_scale", "io_scale", "gate", "dt"],
             "optimizer": ["name", "lr", "momentum", "weight_decay", "clip", "winsor", "noise_mode", "noise_alpha",
                           "noise_scale"],
             "record": ["every", "log_points", "probes", "probe_batch", "update_buffer"],
             None: list(VALID) + ["description", "chunk_size", "segment", "block", "eval_batch", "success", "grid"]}
    if field in known[section]:
        return
    spec = copy.deepcopy(VALID)
    (spec[section] if section else spec)[field] = 1
    message = refused(spec)
    assert field in message and "unknown field" in message


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=2, max_value=200), st.integers(min_value=0, max_value=50))
def test_lags_beyond_the_sequence(seq_len, extra):
    spec = with_value(("task",), {"name": "recall", "seq_len": seq_len, "lag": seq_len + extra})
    assert "lag" in refused(spec)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["optimizer.lr", "model.hidden", "task.seq_len"]),
       st.sampled_from(["empty", "not a list", "unknown", "bad level"]))
def test_bad_grids(key, how):
    spec = copy.deepcopy(VALID)
    if how == "empty":
        spec["grid"] = {key: []}
    elif how == "not a list":
        spec["grid"] = {key: 0.1}
    elif how == "unknown":
        key = key.split(".")[0] + ".nonexistent_field"
        spec["grid"] = {key: [1, 2]}
    else:
        spec["grid"] = {key: [1e-2, -5]}
    message = refused(spec)
    if how == "bad level" and key == "task.seq_len":
        assert "seq_len" in message or "lag" in message
    else:
        assert key.split(".")[1] in message or "grid" in message


def cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "rnnscope.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "JAX_PLATFORMS": "cpu"})


CLI_CASES = {
    "negative steps": 'name = "bad"\nsteps = -5\n',
    "string batch": 'name = "bad"\nbatch = "32"\n',
    "unknown model": 'name = "bad"\n[model]\narch = "transformer"\n',
    "NaN learning rate": 'name = "bad"\n[optimizer]\nlr = nan\n',
    "lag beyond the sequence": 'name = "bad"\n[task]\nname = "recall"\nseq_len = 10\nlag = 40\n',
    "empty grid": 'name = "bad"\n[grid]\n"optimizer.lr" = []\n',
    "not TOML": 'name = "bad"\nsteps = \n',
    "a million members": ('name = "bad"\nseeds = 1000\n[grid]\n"optimizer.lr" = '
                          + str([0.001 * (i + 1) for i in range(1000)]) + "\n"),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
@pytest.mark.parametrize("command", ["run", "sweep"])
def test_command_line_refuses_with_one_line_and_writes_nothing(case, command, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(CLI_CASES[case])
    res = cli(command, str(spec), "--store", str(tmp_path / "runs"), cwd=tmp_path)
    assert res.returncode == 2, (case, res.stdout, res.stderr)
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert not (tmp_path / "runs").exists()
    if case == "a million members":
        assert "1,000,000 members" in res.stderr and "--yes" in res.stderr
