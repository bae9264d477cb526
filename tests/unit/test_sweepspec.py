"""The search space: SPEC forms and their types, sampling, seeds, and parameters put into argv and env."""

from __future__ import annotations

import pytest

from amlexec.errors import UsageError
from amlexec.runs import sweepspec as s


def settings(*params: str, **values):
    defaults = {"sampler": None, "max_trials": None, "max_concurrent": None, "seed": None, "metric": None,
                "goal": None, "early_stop": None}
    return s.resolve(None, params=list(params), **{**defaults, **values})


def test_comma_lists_keep_their_types():
    assert s.parse_param("k=1,3,5").values == (1, 3, 5)
    assert s.parse_param("lr=0.1,0.01").values == (0.1, 0.01)
    assert s.parse_param("w=uniform-ish,distance").values == ("uniform-ish", "distance")
    assert s.parse_param("x=1,2.5,a").values == (1, 2.5, "a")
    assert s.parse_param("one=7").values == (7,)


def test_ranges_include_their_stop_and_stay_ints_when_they_can():
    assert s.parse_param("k=range:1:9:2").values == (1, 3, 5, 7, 9)
    assert s.parse_param("k=range:10:1:-3").values == (10, 7, 4, 1)
    floats = s.parse_param("f=range:0:1:0.1").values
    assert len(floats) == 11 and floats[3] == 0.3 and floats[-1] == 1.0


def test_continuous_forms_keep_their_bounds():
    assert (s.parse_param("lr=uniform:0.1:0.5").kind, s.parse_param("lr=uniform:0.1:0.5").low) == ("uniform", 0.1)
    p = s.parse_param("n=randint:1:3")
    assert (p.kind, p.low, p.high, p.discrete) == ("randint", 1, 3, False)
    assert s.parse_param("lr=loguniform:0.0001:0.1").to_json() == {"loguniform": [0.0001, 0.1]}


@pytest.mark.parametrize(("text", "start"), [
    ("k=", "--param 'k=' gives no values"),
    ("k", "--param 'k' has no '='"),
    ("k=uniform:5:1", "'k=uniform:5:1': the low bound 5 is not below"),
    ("k=range:1:10:0", "'k=range:1:10:0': the step 0 never gets"),
    ("k=range:1:10:-1", "'k=range:1:10:-1': the step -1 never gets"),
    ("k=normal:0:1", "--param 'k=normal:0:1': unknown form 'normal'"),
    ("k=uniform:1", "'k=uniform:1': uniform takes 2 numbers, not 1"),
    ("k=uniform:a:2", "'k=uniform:a:2': 'a' is not a number"),
    ("k=loguniform:0:1", "'k=loguniform:0:1': loguniform bounds must be above 0"),
    ("k=randint:1.5:3", "'k=randint:1.5:3': randint takes whole numbers"),
    ("1k=1,2", "'1k' is not a valid parameter name"),
    ("k=1,,2", "'k=1,,2': an empty value"),
])
def test_malformed_specs_are_refused_with_what_is_wrong(text: str, start: str):
    with pytest.raises(UsageError) as caught:
        s.parse_param(text)
    assert caught.value.message.startswith(start) and caught.value.hint


def test_a_grid_varies_the_first_parameter_slowest_and_is_cut_by_max_trials():
    grid = settings("k=1,2", "w=a,b")
    assert grid.sampler == "grid"
    assert s.sample(grid) == [{"k": 1, "w": "a"}, {"k": 1, "w": "b"}, {"k": 2, "w": "a"}, {"k": 2, "w": "b"}]
    assert len(s.sample(settings("k=1,2", "w=a,b", max_trials=3))) == 3


def test_random_sampling_repeats_with_its_seed_and_records_a_chosen_one():
    space = ("k=randint:1:1000", "lr=loguniform:0.0001:0.1", "w=a,b,c")
    first = s.sample(settings(*space, max_trials=5, seed=3))
    assert first == s.sample(settings(*space, max_trials=5, seed=3))
    assert first != s.sample(settings(*space, max_trials=5, seed=4))
    assert all(1 <= t["k"] <= 1000 and 0.0001 <= t["lr"] <= 0.1 and t["w"] in "abc" for t in first)
    assert all(len(repr(t["lr"]).replace("0.", "").lstrip("0")) <= 12 for t in first)  # 6 significant digits
    chosen = settings(*space, max_trials=2)
    assert chosen.sampler == "random" and isinstance(chosen.seed, int)  # kept in the parent record


def test_more_trials_continue_the_same_stream():
    space = settings("k=randint:1:1000", max_trials=3, seed=9)
    longer = s.sample(settings("k=randint:1:1000", max_trials=7, seed=9))
    assert s.sample(space) + s.more_trials(space, 3, 4) == longer
    with pytest.raises(UsageError, match="this sweep is a grid"):
        s.more_trials(settings("k=1,2"), 2, 1)


@pytest.mark.parametrize(("params", "values", "start"), [
    (("k=1,2", "k=3"), {}, "parameter 'k' is given twice"),
    ((), {}, "a sweep needs at least one parameter"),
    (("k=uniform:0:1",), {"sampler": "random"}, "random sampling needs --max-trials"),
    (("k=uniform:0:1",), {"sampler": "grid", "max_trials": 3}, "a grid cannot enumerate 'k'"),
    (("a=range:1:200:1", "b=range:1:200:1"), {}, "the grid has 40,000 trials, more than 10,000"),
    (("k=1,2",), {"goal": "sideways"}, "unknown goal 'sideways'"),
    (("k=1,2",), {"sampler": "bayes"}, "unknown sampler 'bayes'"),
    (("k=1,2",), {"max_concurrent": 0}, "--max-concurrent must be a whole number of at least 1"),
    (("k=1,2",), {"max_trials": 0}, "--max-trials must be a whole number of at least 1"),
    (("k=1,2",), {"early_stop": "median"}, "early termination needs an objective"),
    (("k=1,2",), {"early_stop": "bandit", "metric": "m"}, "unknown early-termination policy 'bandit'"),
    (("k=1,2", "K=3"), {}, "parameters 'k' and 'K' differ only in case"),
    (("k=1,2",), {"seed": -5}, "--seed must be a whole number of 0 or more"),
])
def test_settings_that_cannot_work_together_are_refused(params, values, start):
    with pytest.raises(UsageError) as caught:
        settings(*params, **values)
    assert caught.value.message.startswith(start) and caught.value.hint


def test_a_grid_larger_than_the_limit_is_fine_with_max_trials():
    assert len(s.sample(settings("a=range:1:200:1", "b=range:1:200:1", max_trials=5))) == 5


def test_values_are_formatted_as_a_script_expects_them():
    assert [s.format_value(v) for v in (3, 0.1, 1e-05, 2.0, "a b", True)] == ["3", "0.1", "1e-05", "2.0", "a b",
                                                                              "true"]


def test_placeholders_are_filled_in_and_other_parameters_appended():
    argv = s.trial_argv(["train.py", "--k", "{k}", "--name=run-{k}-{w}", "{}", "{not valid}", "{{k}}-{{j}}"],
                        {"k": 3, "w": "a", "lr": 0.5})
    assert argv == ["train.py", "--k", "3", "--name=run-3-a", "{}", "{not valid}", "{k}-{j}", "--lr", "0.5"]
    with pytest.raises(UsageError, match=r"the arguments name \{j\}, but the sweep has no parameter 'j'"):
        s.trial_argv(["--j", "{j}"], {"k": 1})


def test_parameters_reach_the_environment_by_upper_cased_name():
    assert s.param_env({"k": 3, "learning_rate": 0.1}) == {"AMLEXEC_PARAM_K": "3",
                                                           "AMLEXEC_PARAM_LEARNING_RATE": "0.1"}


def test_settings_survive_their_json_form():
    original = settings("k=1,3", "lr=uniform:0.1:0.2", "n=randint:1:4", sampler="random", max_trials=4, seed=5,
                        metric="Accuracy", goal="minimize", early_stop="median")
    again = s.settings_from_json(original.to_json())
    assert again == original.__class__(**{**original.__dict__, "arguments": ()})
    assert s.sample(again) == s.sample(original)
