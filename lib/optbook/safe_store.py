"""Results as bytes that cannot run code when read: the result cache's file format.

A stored result is a tree of dicts, lists and tuples whose leaves are plain values (None, bool,
int, float, str), numpy arrays and scalars of numeric or boolean dtype, torch tensors, and pandas
frames and series. It is written as one uncompressed zip: ``tree.json`` describes the tree, each
array is a ``.npy`` member (read with ``allow_pickle=False``), each tensor a ``.pt`` member (read
with ``torch.load(weights_only=True)``), and a frame's text columns are JSON lists beside it.
Nothing in the format names a class or a function, so a planted file can at worst be refused.

:func:`dumps` refuses what it cannot store exactly (a ``TypeError`` naming the value), and
:func:`loads` raises ``ValueError`` for anything that is not such a file. Floats pass through
JSON as their shortest exact repr, arrays bit for bit: a result read back equals the one stored.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np
import pandas as pd
import torch

__all__ = ["dumps", "loads"]

FORMAT = 1
TREE = "tree.json"
# numpy kinds stored as raw arrays: bool, integers, floats, complex, datetimes, durations.
ARRAY_KINDS = set("biufcmM")
PLAIN = (type(None), bool, int, float, str)


def dumps(result: Any) -> bytes:
    """The zip holding ``result`` (see the module docstring for what it may contain)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        tree = _Writer(archive).node(result, "result")
        archive.writestr(TREE, json.dumps({"format": FORMAT, "tree": tree}))
    return buffer.getvalue()


def loads(data: bytes) -> Any:
    """The result :func:`dumps` stored; ``ValueError`` for anything else."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            header = json.loads(archive.read(TREE))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError(f"not a stored result of format {FORMAT}")
            return _Reader(archive).node(header["tree"])
    except ValueError:
        raise
    except Exception as err:  # a damaged zip raises anything from BadZipFile to KeyError
        raise ValueError(f"{type(err).__name__}: {err}") from None


class _Writer:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive, self.members = archive, 0

    def _member(self, suffix: str, payload: bytes) -> str:
        name = f"{self.members}{suffix}"
        self.members += 1
        self.archive.writestr(name, payload)
        return name

    def _array(self, array: np.ndarray, where: str) -> str:
        if array.dtype.kind not in ARRAY_KINDS:
            raise TypeError(f"{where}: an array of dtype {array.dtype} cannot be stored safely; "
                            "allowed: numeric and boolean arrays")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        return self._member(".npy", buffer.getvalue())

    def node(self, value: Any, where: str) -> dict:
        if isinstance(value, np.generic):  # before plain values: np.float64 is a float
            return {"t": "scalar", "a": self._array(np.asarray(value), where)}
        if isinstance(value, PLAIN):
            return {"t": "value", "v": value}
        if isinstance(value, np.ndarray):
            return {"t": "array", "a": self._array(value, where)}
        if isinstance(value, torch.Tensor):
            buffer = io.BytesIO()
            torch.save(value.detach().cpu().clone(), buffer)
            return {"t": "tensor", "m": self._member(".pt", buffer.getvalue())}
        if isinstance(value, pd.DataFrame):
            return self._frame(value, where)
        if isinstance(value, pd.Series):
            frame = self._frame(value.to_frame(name=0), where)
            return {"t": "series", "frame": frame, "name": self.node(value.name, f"{where}.name")}
        if isinstance(value, dict):
            return {"t": "dict", "items": [[self.node(k, f"{where} key {k!r}"), self.node(v, f"{where}[{k!r}]")]
                                           for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return {"t": type(value).__name__, "items": [self.node(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        raise TypeError(f"{where}: a {type(value).__name__} cannot be stored safely; allowed: plain values, "
                        "numeric arrays, tensors, pandas frames and series, and dicts, lists, tuples of them")

    def _frame(self, frame: pd.DataFrame, where: str) -> dict:
        columns = []
        for position, name in enumerate(frame.columns):
            column = frame.iloc[:, position]
            columns.append({"name": self.node(name, f"{where} column name"),
                            **self._column(column, f"{where}[{name!r}]")})
        index = frame.index
        if isinstance(index, pd.RangeIndex):
            stored_index = {"range": [index.start, index.stop, index.step], "name": self.node(index.name, where)}
        elif isinstance(index, pd.MultiIndex):
            raise TypeError(f"{where}: a MultiIndex cannot be stored; reset_index() first")
        else:
            stored_index = {**self._column(index.to_series(), f"{where}.index"), "name": self.node(index.name, where)}
        return {"t": "frame", "columns": columns, "column_dtype": str(frame.columns.dtype), "index": stored_index,
                "attrs": self.node(dict(frame.attrs), f"{where}.attrs")}

    def _column(self, column: pd.Series, where: str) -> dict:
        dtype = column.dtype
        if isinstance(dtype, np.dtype) and dtype.kind in ARRAY_KINDS:
            return {"dtype": str(dtype), "a": self._array(column.to_numpy(), where)}
        if isinstance(dtype, pd.CategoricalDtype):
            return {"dtype": "category", "ordered": bool(dtype.ordered),
                    "categories": self._column(pd.Series(dtype.categories), f"{where} categories"),
                    "codes": self._array(column.cat.codes.to_numpy(), where)}
        values = column.tolist()
        for value in values:  # text, and the NaN that marks a missing value, pass through JSON exactly
            if not isinstance(value, PLAIN):
                raise TypeError(f"{where}: a {type(value).__name__} in a column of dtype {dtype} cannot be "
                                "stored safely; allowed: text, numbers, booleans and missing values")
        return {"dtype": str(dtype), "values": values}


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def _array(self, name: str) -> np.ndarray:
        if not isinstance(name, str) or not name.endswith(".npy"):
            raise ValueError(f"bad array member {name!r}")
        return np.load(io.BytesIO(self.archive.read(name)), allow_pickle=False)

    def node(self, node: dict) -> Any:
        kind = node["t"]
        if kind == "value":
            if not isinstance(node["v"], PLAIN):
                raise ValueError(f"bad plain value {node['v']!r}")
            return node["v"]
        if kind == "scalar":
            return self._array(node["a"])[()]
        if kind == "array":
            return self._array(node["a"])
        if kind == "tensor":
            return torch.load(io.BytesIO(self.archive.read(node["m"])), weights_only=True)
        if kind == "frame":
            return self._frame(node)
        if kind == "series":
            series = self._frame(node["frame"]).iloc[:, 0]
            series.name = self.node(node["name"])
            return series
        if kind == "dict":
            return {self.node(k): self.node(v) for k, v in node["items"]}
        if kind in ("list", "tuple"):
            items = [self.node(v) for v in node["items"]]
            return items if kind == "list" else tuple(items)
        raise ValueError(f"unknown node type {kind!r}")

    def _frame(self, node: dict) -> pd.DataFrame:
        stored_index = node["index"]
        if "range" in stored_index:
            start, stop, step = (int(x) for x in stored_index["range"])
            index = pd.RangeIndex(start, stop, step)
        else:
            index = pd.Index(self._column(stored_index))
        index.name = self.node(stored_index["name"])
        names = [self.node(column["name"]) for column in node["columns"]]
        frame = pd.DataFrame({position: pd.Series(self._column(column), copy=False).set_axis(index)
                              for position, column in enumerate(node["columns"])}, index=index)
        frame.columns = pd.Index(names, dtype=pd.api.types.pandas_dtype(node["column_dtype"]))
        frame.attrs.update(self.node(node["attrs"]))
        return frame

    def _column(self, column: dict):
        dtype = column["dtype"]
        if "a" in column and dtype != "category":
            array = self._array(column["a"])
            if str(array.dtype) != dtype:
                raise ValueError(f"column of dtype {dtype} holds an array of dtype {array.dtype}")
            return array
        if dtype == "category":
            categories = pd.Index(self._column(column["categories"]))
            return pd.Categorical.from_codes(self._array(column["codes"]), categories=categories,
                                             ordered=bool(column["ordered"]))
        values = column["values"]
        if not isinstance(values, list) or not all(isinstance(v, PLAIN) for v in values):
            raise ValueError("a text column holds a value that is not plain")
        return pd.Series(values, dtype=pd.api.types.pandas_dtype(dtype))
