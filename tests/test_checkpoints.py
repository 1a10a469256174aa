"""Trained-optimizer files: shipped in the package, found wherever the data directory is, and
treated as untrusted input (only the library's own update nets are ever built)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from optbook import scales
from optbook.learned import CoordinatewiseLSTM, LinearUpdate, checkpoints
from optbook.learned.checkpoints import (
    UPDATE_NET_CLASSES,
    checkpoint_path,
    find_checkpoints,
    load_net,
    save_dir,
    save_net,
    shipped_dir,
)
from optbook.studies import learning_to_learn as l2l

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    return tmp_path / "data"


def _sensitivity_specs(scale: str) -> list[l2l.NetSpec]:
    """The nets of chapter 1's sensitivity study at ``scale``, on the page's data."""
    config = scales.chapter_config("01", scale)
    return [
        l2l.chapter_net_spec("quadratic", config, scale, "mnist-5k", meta_lr=lr, init_seed=seed,
                             problems=config["sensitivity_problems"])
        for lr in config["sensitivity_meta_lrs"] for seed in config["sensitivity_seeds"]
    ]


def test_every_net_chapters_1_and_2_use_at_cpu_scale_ships_with_the_package(data):
    """With an empty data directory every kind's search and runs, and chapter 1's sensitivity nets,
    are found among the shipped files: at scale="cpu" the chapters meta-train nothing."""
    from optbook.studies import net_kinds

    for spec in _sensitivity_specs("cpu"):
        found = l2l.find_trained(spec.name, spec.fingerprint)
        assert found is not None and found.loaded, spec.name
        assert find_checkpoints(spec.name)[0].parent == shipped_dir()
    runs = scales.learned_kinds("cpu")["runs"]
    for problem, key in net_kinds.KINDS:
        found = net_kinds.kind_runs(problem, key, "cpu", "mnist-5k", progress=False, shipped_only=True)
        assert len(found.nets) == runs[problem] and all(net.loaded for net in found.nets), (problem, key)
    assert not (data / "checkpoints").exists()  # looking is not writing


def test_the_shipped_nets_are_package_data():
    assert shipped_dir() == ROOT / "lib" / "optbook" / "checkpoints"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'optbook = ["checkpoints/*.pt"]' in pyproject


def _tiny_lstm(seed: int) -> CoordinatewiseLSTM:
    torch.manual_seed(seed)
    return CoordinatewiseLSTM(hidden=3, layers=1)


def _metadata(fingerprint: str) -> dict:
    return {"fingerprint": fingerprint, "history": [], "validation": [], "info": {}}


def test_lookup_order_data_directory_first_then_the_package(data, tmp_path, monkeypatch):
    shipped = tmp_path / "package" / "checkpoints"
    monkeypatch.setattr(checkpoints, "shipped_dir", lambda: shipped)
    save_net(shipped / "net.pt", _tiny_lstm(0), metadata=_metadata("shipped"))
    assert find_checkpoints("net") == [shipped / "net.pt"]
    assert checkpoint_path("net") == shipped / "net.pt"
    assert checkpoint_path("other") == data / "checkpoints" / "other.pt"  # where it would be saved

    save_net(data / "checkpoints" / "net.pt", _tiny_lstm(1), metadata=_metadata("mine"))
    assert find_checkpoints("net") == [data / "checkpoints" / "net.pt", shipped / "net.pt"]
    assert checkpoint_path("net") == data / "checkpoints" / "net.pt"
    # the first file whose fingerprint matches wins, wherever it is
    assert l2l.find_trained("net", "shipped").net.state_dict()["head.weight"].equal(
        _tiny_lstm(0).state_dict()["head.weight"])
    assert l2l.find_trained("net", "mine").net.state_dict()["head.weight"].equal(
        _tiny_lstm(1).state_dict()["head.weight"])
    assert l2l.find_trained("net", "neither") is None


def test_new_nets_go_to_the_data_directory_outside_the_book(data, monkeypatch):
    assert save_dir() == data / "checkpoints"  # OPTBOOK_DATA elsewhere: never into the package
    monkeypatch.delenv("OPTBOOK_DATA")
    monkeypatch.chdir(data.parent)  # no book here: ~/.cache/optbook, as for a pip-installed library
    monkeypatch.setenv("HOME", str(data.parent / "home"))
    assert save_dir() == data.parent / "home" / ".cache" / "optbook" / "checkpoints"


def test_new_nets_from_the_book_checkout_replace_the_shipped_ones(monkeypatch):
    """The book's own runs (data directory = the checkout's data/) write where the package looks,
    so a retrained net is a change to commit and ships with the library."""
    monkeypatch.setenv("OPTBOOK_DATA", str(ROOT / "data"))
    assert save_dir() == shipped_dir()


def test_a_damaged_file_is_skipped_with_a_warning_naming_it(data):
    (data / "checkpoints").mkdir(parents=True)
    spec = _sensitivity_specs("cpu")[0]
    bad = data / "checkpoints" / f"{spec.name}.pt"
    bad.write_bytes(b"PK\x03\x04 truncated")
    with pytest.warns(UserWarning, match=str(bad)):
        found = l2l.find_trained(spec.name, spec.fingerprint)
    assert found is not None and found.loaded  # the shipped one


# --------------------------------------------------------------------------- untrusted files


def _payload(**overrides) -> dict:
    net = LinearUpdate()
    payload = {
        "format": 1,
        "net_class": "optbook.learned.nets:LinearUpdate",
        "config": net.config(),
        "state_dict": net.state_dict(),
        "metadata": {},
    }
    payload.update(overrides)
    return payload


def _write(tmp_path, payload, name="crafted.pt") -> Path:
    path = tmp_path / name
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("cls", UPDATE_NET_CLASSES)
def test_every_registered_net_saves_and_loads(tmp_path, cls):
    net = cls()
    loaded = load_net(save_net(tmp_path / "net.pt", net))
    assert type(loaded) is cls and loaded.config() == net.config()
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), loaded.state_dict().values()))


def test_a_file_naming_any_other_callable_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    path = _write(tmp_path, _payload(net_class="subprocess:run", config={"args": ["touch", str(marker)]}))
    with pytest.raises(ValueError, match=r"net_class='subprocess:run' is not one of the library's update nets; "
                                         r"allowed: optbook\.learned\.nets:CoordinatewiseLSTM"):
        load_net(path)
    assert not marker.exists()


@pytest.mark.parametrize("net_class", [
    "os:system", "builtins:eval", "optbook.learned.nets:CoordinatewiseLSTM.__init__",
    "optbook.learned.nets:torch.nn.Module", "torch.nn:LSTM",
])
def test_names_close_to_allowed_ones_are_refused(tmp_path, net_class):
    with pytest.raises(ValueError, match="allowed:"):
        load_net(_write(tmp_path, _payload(net_class=net_class)))


def test_a_config_past_what_torch_can_address_is_a_value_error(tmp_path):
    lstm = CoordinatewiseLSTM(hidden=3, layers=1)
    payload = _payload(net_class="optbook.learned.nets:CoordinatewiseLSTM", config={**lstm.config(), "hidden": 10**9},
                       state_dict=lstm.state_dict())
    with pytest.raises(ValueError, match="does not build a CoordinatewiseLSTM"):
        load_net(_write(tmp_path, payload))


@pytest.mark.parametrize("name", ["../../x", "/etc/passwd", "a/b", "..", "", ".hidden"])
def test_checkpoint_names_are_plain_file_names(name):
    from optbook.learned.checkpoints import checkpoint_path

    with pytest.raises(ValueError, match="checkpoint name=.* is not allowed"):
        checkpoint_path(name)


def test_a_config_that_does_not_fit_the_weights_is_refused_before_allocating(tmp_path):
    lstm = CoordinatewiseLSTM(hidden=3, layers=1)
    huge = {**lstm.config(), "hidden": 10**7}  # would allocate ~1.6 TB if built for real
    payload = _payload(net_class="optbook.learned.nets:CoordinatewiseLSTM", config=huge,
                       state_dict=lstm.state_dict())
    with pytest.raises(ValueError, match="weights do not fit CoordinatewiseLSTM"):
        load_net(_write(tmp_path, payload))


@pytest.mark.parametrize("overrides, message", [
    ({"config": {"output_scale": 1.0, "command": "rm"}}, r"config has \['command'\]"),
    ({"config": {"output_scale": [1.0]}}, "must map argument names to numbers"),
    ({"config": ["output_scale"]}, "must map argument names"),
    ({"state_dict": {"linear.weight": 1.0}}, "state_dict must map parameter names to tensors"),
    ({"format": 2}, "not a saved update net of format 1"),
    ({"metadata": [1]}, "metadata must be a dict"),
])
def test_malformed_payloads_are_refused(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        load_net(_write(tmp_path, _payload(**overrides)))


class _Shady:
    def __reduce__(self):
        return (print, ("pickled code ran",))


def test_pickled_objects_and_damaged_files_are_refused_naming_the_file(tmp_path, capsys):
    pickled = _write(tmp_path, {**_payload(), "metadata": _Shady()}, name="pickled.pt")
    with pytest.raises(ValueError, match=r"pickled\.pt was refused: .*pickled Python objects \(it names print\)") as info:
        load_net(pickled)
    assert "weights_only" not in str(info.value)  # no advice to load it the unsafe way
    assert "pickled code ran" not in capsys.readouterr().out
    good = save_net(tmp_path / "good.pt", LinearUpdate())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated\.pt is not a readable trained-optimizer file"):
        load_net(truncated)


def test_save_net_refuses_a_class_load_net_would_refuse(tmp_path):
    class Custom(LinearUpdate):
        pass

    with pytest.raises(ValueError, match="load_net builds only .*UPDATE_NET_CLASSES"):
        save_net(tmp_path / "c.pt", Custom())
    assert not (tmp_path / "c.pt").exists()


def test_the_net_class_is_in_the_fingerprint_and_leaves_the_lstms_unchanged(data):
    """HNN and LSTM files can never share a fingerprint, and the LSTM's fingerprints are the ones
    chapter 1's shipped files were saved with (they are still found)."""
    from optbook.learned import HNNUpdate, PortHamiltonianUpdate
    from optbook.studies import hamiltonian

    spec = _sensitivity_specs("cpu")[0]
    shipped = torch.load(find_checkpoints(spec.name)[0], weights_only=True)["metadata"]["fingerprint"]
    assert spec.fingerprint == shipped
    assert l2l.fingerprint(spec.task, spec.net_config, spec.meta_config, spec.init_seed, CoordinatewiseLSTM) == shipped
    others = {l2l.fingerprint(spec.task, spec.net_config, spec.meta_config, spec.init_seed, cls)
              for cls in (HNNUpdate, PortHamiltonianUpdate, LinearUpdate)}
    assert len(others) == 3 and shipped not in others
    # the kinds' nets of other classes never take an LSTM's fingerprint
    from optbook.studies import net_kinds

    for spec in net_kinds.dry_run_specs("cpu", "mnist-5k"):
        if spec.net_class is not CoordinatewiseLSTM:
            assert spec.fingerprint not in {s.fingerprint for s in _sensitivity_specs("cpu")}
