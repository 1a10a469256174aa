"""Running ensembles into tidy frames, divergence marking, the result cache."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from optbook import cache, experiment
from optbook.tasks import QuadraticTask


@pytest.fixture(autouse=True)
def isolated_data(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path))


def test_tidy_frame_has_one_row_per_run_and_step():
    frame = experiment.run_ensemble(QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.01), [0, 1, 2], 4,
                                    labels={"method": "SGD", "lr": 0.01})
    assert list(frame.columns[:2]) == ["method", "lr"]
    assert len(frame) == 3 * 5 and sorted(frame["seed"].unique()) == [0, 1, 2]
    assert frame["step"].max() == 4 and not frame["diverged"].any()
    assert frame[frame.step == 4]["train_loss"].notna().all()
    assert frame[frame.step == 2]["train_loss"].isna().all()
    # step 0 is the loss at θ0 = 0, i.e. ‖y‖²
    model = QuadraticTask().build([0, 1, 2])
    assert np.allclose(frame[frame.step == 0]["loss"], (model.y ** 2).sum(1).numpy(), rtol=1e-6)


def test_losses_decrease_and_match_a_plain_loop():
    frame = experiment.run_ensemble(QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.01), [5], 6)
    model = QuadraticTask().build([5])
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    expected = []
    for _ in range(6):
        opt.zero_grad()
        loss = model(None)
        loss.sum().backward()
        opt.step()
        expected.append(loss.item())
    expected.append(model(None).item())
    assert np.allclose(frame["loss"], expected, rtol=1e-6)


def test_diverged_runs_are_marked_not_fatal():
    # lr 10 diverges on every quadratic; the frame still comes back, marked from the first non-finite loss.
    frame = experiment.run_ensemble(QuadraticTask(), lambda p: torch.optim.SGD(p, lr=10.0), [0, 1], 200)
    assert frame.groupby("seed")["diverged"].any().all()
    first = frame[~np.isfinite(frame["loss"])].groupby("seed")["step"].min()
    for seed, step in first.items():
        rows = frame[frame.seed == seed].set_index("step")["diverged"]
        assert not rows.loc[: step - 1].any() and rows.loc[step:].all()


def test_grid_runs_every_method_at_every_point():
    methods = {"SGD": lambda p, lr: torch.optim.SGD(p, lr=lr), "Adam": lambda p, lr: torch.optim.Adam(p, lr=lr)}
    frame = experiment.run_grid(QuadraticTask(), methods, {"lr": [0.1, 0.01]}, [0, 1], 3, progress=False)
    assert set(map(tuple, frame[["method", "lr"]].drop_duplicates().values)) == {
        ("SGD", 0.1), ("SGD", 0.01), ("Adam", 0.1), ("Adam", 0.01)}


def test_mean_ci_excludes_and_counts_diverged_runs():
    frame = pd.DataFrame({"method": ["a"] * 4, "step": [0] * 4, "loss": [1.0, 3.0, np.inf, np.nan]})
    summary = experiment.mean_ci(frame, ["method", "step"], "loss").iloc[0]
    assert summary["mean"] == 2.0 and summary["n"] == 2 and summary["n_diverged"] == 2
    half = 1.959963984540054 * math.sqrt(2.0) / math.sqrt(2)
    assert math.isclose(summary["hi"] - summary["mean"], half, rel_tol=1e-9)


def test_cache_computes_once_and_keys_on_config_and_code():
    calls = []

    def compute():
        calls.append(1)
        return {"value": len(calls)}

    assert cache.cached("t", {"a": 1}, compute) == {"value": 1}
    assert cache.cached("t", {"a": 1}, compute) == {"value": 1}
    assert len(calls) == 1
    assert cache.cached("t", {"a": 2}, compute) == {"value": 2}
    assert cache.cache_key("t", {"a": 1}) != cache.cache_key("t", {"a": 1}, code=[experiment])
    assert cache.cached("t", {"a": 1}, compute, refresh=True) == {"value": 3}


def test_cache_code_must_be_modules_so_a_whole_file_is_keyed():
    from optbook.tasks import trigonometric  # the package's function, shadowing its module's name

    with pytest.raises(TypeError, match="code must name modules.*trigonometric"):
        cache.cache_key("t", {"a": 1}, code=[experiment, trigonometric])


@pytest.mark.parametrize("study", ["hypergradient", "thermodynamic", "learning_to_learn"])
def test_every_study_keys_its_results_on_whole_modules(study):
    import importlib
    from types import ModuleType

    module = importlib.import_module(f"optbook.studies.{study}")
    code = [entry for name in ("STUDY_CODE", "EVALUATION_CODE") for entry in getattr(module, name, ())]
    assert code and all(isinstance(entry, ModuleType) for entry in code)


def test_cache_key_changes_with_library_version(monkeypatch):
    import optbook

    before = cache.cache_key("t", {"a": 1})
    monkeypatch.setattr(optbook, "__version__", "99.0")
    assert cache.cache_key("t", {"a": 1}) != before


def test_interrupted_computation_leaves_no_entry():
    def boom():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.cached("t", {"b": 1}, boom)
    assert not list(cache.cache_dir().glob("t-*"))


def _entry(kind: str, config: dict):
    key = cache.cache_key(kind, config)
    return cache.cache_dir() / f"{key}.zip", cache.cache_dir() / f"{key}.json"


def _flip_one_byte(content: bytes) -> bytes:
    middle = len(content) // 2
    return content[:middle] + bytes([content[middle] ^ 0x01]) + content[middle + 1:]


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "one flipped byte", "hash missing"])
def test_a_damaged_cache_entry_is_a_miss_recomputed_overwritten_and_named(damage):
    frame = pd.DataFrame({"loss": np.linspace(1.0, 0.1, 500)})
    assert cache.cached("t", {"c": 1}, lambda: frame).equals(frame)
    entry, description = _entry("t", {"c": 1})
    content = entry.read_bytes()
    if damage == "hash missing":
        description.unlink()
    else:
        damaged = {"truncate": content[: len(content) // 2], "garbage": b"not a zip", "empty": b"",
                   "one flipped byte": _flip_one_byte(content)}[damage]
        entry.write_bytes(damaged)
    calls = []

    def compute():
        calls.append(1)
        return frame

    with pytest.warns(UserWarning, match=f"damaged cache entry {entry}"):
        assert cache.cached("t", {"c": 1}, compute).equals(frame)
    assert calls == [1] and entry.read_bytes() == content  # overwritten with a good entry
    assert cache.cached("t", {"c": 1}, compute).equals(frame) and calls == [1]  # and served again


class _RunsCode:
    """A pickle that, when loaded, creates the file it names: the attack the cache must not allow."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_a_cache_entry_that_would_run_code_is_refused_and_nothing_runs(tmp_path):
    import hashlib
    import io
    import json
    import pickle
    import zipfile

    marker = tmp_path / "ran"
    entry, description = _entry("t", {"planted": 1})
    # 1. a pickle planted where an entry lives, with a matching hash beside it
    payload = pickle.dumps(_RunsCode(marker))
    entry.write_bytes(payload)
    description.write_text(json.dumps({"sha256": hashlib.sha256(payload).hexdigest()}))
    with pytest.warns(UserWarning, match="damaged cache entry"):
        assert cache.cached("t", {"planted": 1}, lambda: {"value": 1}) == {"value": 1}
    # 2. a well-formed entry whose array member is a pickled object array
    array = io.BytesIO()
    np.save(array, np.array([_RunsCode(marker)], dtype=object), allow_pickle=True)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("tree.json", json.dumps({"format": 1, "tree": {"t": "array", "a": "0.npy"}}))
        z.writestr("0.npy", array.getvalue())
    entry.write_bytes(archive.getvalue())
    description.write_text(json.dumps({"sha256": hashlib.sha256(archive.getvalue()).hexdigest()}))
    with pytest.warns(UserWarning, match="damaged cache entry"):
        assert cache.cached("t", {"planted": 1}, lambda: {"value": 2}) == {"value": 2}
    # 3. an old-style pickle entry is never opened
    (cache.cache_dir() / f"{cache.cache_key('t', {'planted': 3})}.pkl").write_bytes(payload)
    assert cache.cached("t", {"planted": 3}, lambda: {"value": 3}) == {"value": 3}
    assert not marker.exists()


def test_a_cached_result_reads_back_equal_in_values_and_types():
    frame = pd.DataFrame({"method": ["SGD", "Adam", None], "seed": [0, 1, 2], "loss": [0.5, np.nan, np.inf],
                          "diverged": [False, True, False]})
    frame.attrs["wall_time_s"] = 1.25
    result = {"frame": frame[frame["seed"] > 0], "snapshots": {3: {"W1": np.arange(6, dtype=np.float32)}},
              "pair": (1, 0.1 + 0.2), "scalar": np.float64(0.3), "tensor": torch.arange(3)}
    for attempt in range(2):  # computed, then replayed: the same either way
        got = cache.cached("t", {"types": 1}, lambda: result)
        pd.testing.assert_frame_equal(got["frame"], result["frame"], check_exact=True)
        assert got["frame"].attrs == {"wall_time_s": 1.25}
        assert got["snapshots"][3]["W1"].dtype == np.float32 and np.array_equal(got["snapshots"][3]["W1"], np.arange(6))
        assert got["pair"] == (1, 0.1 + 0.2) and type(got["scalar"]) is np.float64 and got["scalar"] == 0.3
        assert torch.equal(got["tensor"], torch.arange(3))


def test_a_result_the_cache_cannot_store_safely_is_refused_by_name():
    with pytest.raises(TypeError, match=r"result\['model'\]: a Linear cannot be stored safely"):
        cache.cached("t", {"unsafe": 1}, lambda: {"model": torch.nn.Linear(1, 1)})


def test_cache_config_must_be_json():
    with pytest.raises(TypeError, match="JSON"):
        cache.cache_key("t", {"f": object()})


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="steps=0"):
        experiment.run_ensemble(QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.1), [0], 0)
    with pytest.raises(ValueError, match="eval_every=0"):
        experiment.run_ensemble(QuadraticTask(), lambda p: torch.optim.SGD(p, lr=0.1), [0], 3, eval_every=0)


def test_tracked_quantities_land_in_the_row_of_their_step():
    class Halving(torch.optim.SGD):
        def step(self, closure=None):
            loss = super().step(closure)
            self.param_groups[0]["lr"] /= 2
            return loss

    frame = experiment.run_ensemble(QuadraticTask(), lambda p: Halving(p, lr=0.1), [0, 1], 3,
                                    track=lambda opt: {"lr": opt.param_groups[0]["lr"], "per_run": torch.tensor([1.0, 2.0])})
    assert frame[frame.seed == 0]["lr"].tolist()[:3] == [0.05, 0.025, 0.0125]
    assert np.isnan(frame[frame.step == 3]["lr"]).all()  # no update at the final row
    assert frame[frame.step == 1].set_index("seed")["per_run"].to_dict() == {0: 1.0, 1: 2.0}
