"""Read a PyTorch state dict (`.pth`) into NumPy arrays without PyTorch, and refuse anything else.

    state = read_state_dict("efficientnet-lite0-57934424.pth")   # {"_conv_stem.weight": array, ...}

A `.pth` file is a pickle, and unpickling runs whatever code the file names. This reader uses a
restricted unpickler that knows only what a state dict of tensors is made of:
`torch._utils._rebuild_tensor_v2`, the `torch.*Storage` types and `collections.OrderedDict`;
any other global (a function, a class, `os.system`) ends in one `WeightsError` line. Both of
PyTorch's layouts are read: the legacy one (a stream of pickles followed by the raw storages,
each an 8-byte little-endian element count and the data) and the zip archive of PyTorch >= 1.6
(`archive/data.pkl` and one file per storage under `archive/data/`).
"""

import collections
import io
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from colornet.errors import WeightsError

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # what torch.save writes first in its legacy layout

STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",  # read as uint16, widened to float32
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _Storage:
    """A storage named in the pickle; its data is filled in once the pickle is read."""

    def __init__(self, kind: str, numel: int):
        self.kind, self.numel, self.data = kind, numel, None

    @property
    def dtype(self):
        dtype = STORAGE_DTYPES[self.kind]
        return np.uint16 if dtype == "bfloat16" else dtype

    def fill(self, raw: bytes) -> None:
        data = np.frombuffer(raw, dtype=np.dtype(self.dtype).newbyteorder("<"), count=self.numel)
        if STORAGE_DTYPES[self.kind] == "bfloat16":
            data = (data.astype(np.uint32) << 16).view(np.float32)
        self.data = data


class _Tensor:
    """A tensor waiting for its storage: `_rebuild_tensor_v2`'s arguments."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, int(offset), tuple(size), tuple(stride)

    def array(self) -> np.ndarray:
        data = self.storage.data
        if data is None:
            raise ValueError("a tensor's storage is missing from the file")
        item = data.itemsize
        if self.size and self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride)) >= len(data):
            raise ValueError("a tensor reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :], shape=self.size, strides=[s * item for s in self.stride]
        )
        return np.array(view)  # a copy, owning its memory


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor without a storage")
    return _Tensor(storage, offset, size, stride)


class _StorageType:
    def __init__(self, kind: str):
        self.kind = kind


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles tensors, their storages and ordered dicts; refuses every other global."""

    def __init__(self, file, load_storage):
        super().__init__(file)
        self._load_storage = load_storage

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(
            f"it names {module}.{name}, which is not part of a state dict of tensors"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r:.60}")
        kind, key, numel = pid[1], str(pid[2]), pid[4]
        if not isinstance(kind, _StorageType):
            raise pickle.UnpicklingError("a storage of an unknown type")
        return self._load_storage(kind.kind, key, int(numel))


def _read_legacy(f) -> dict:
    storages = {}

    def load_storage(kind, key, numel):
        if key not in storages:
            storages[key] = _Storage(kind, numel)
        return storages[key]

    def plain(file):  # the header pickles hold only numbers, strings and dicts
        return _RestrictedUnpickler(file, load_storage).load()

    if plain(f) != LEGACY_MAGIC:
        raise ValueError("not a PyTorch file (no magic number)")
    plain(f)  # protocol version
    info = plain(f)
    if isinstance(info, dict) and not info.get("little_endian", True):
        raise ValueError("written on a big-endian machine")
    state = _RestrictedUnpickler(f, load_storage).load()
    keys = plain(f)
    for key in keys:
        storage = storages.get(str(key))
        header = f.read(8)
        if storage is None or len(header) != 8:
            raise ValueError("the storages after the pickle are cut short")
        (numel,) = struct.unpack("<q", header)
        size = numel * np.dtype(storage.dtype).itemsize
        raw = f.read(size)
        if len(raw) != size or numel < storage.numel:
            raise ValueError("the storages after the pickle are cut short")
        storage.numel = numel
        storage.fill(raw)
    return state


def _read_zip(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pkl = next((n for n in names if n.endswith("/data.pkl") or n == "data.pkl"), None)
        if pkl is None:
            raise ValueError("a zip file without data.pkl")
        prefix = pkl[: -len("data.pkl")]

        def load_storage(kind, key, numel):
            storage = _Storage(kind, numel)
            storage.fill(archive.read(f"{prefix}data/{key}"))
            return storage

        return _RestrictedUnpickler(io.BytesIO(archive.read(pkl)), load_storage).load()


def read_state_dict(path) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch state dict file as `{name: np.ndarray}`, in the file's order.

    Raises:
        WeightsError: a missing file, a file that is not a state dict of tensors (another
            pickle, code to run, a truncated file): one line naming the file and the reason.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found; check the path.")
    try:
        if zipfile.is_zipfile(path):
            state = _read_zip(path)
        else:
            with open(path, "rb") as f:
                state = _read_legacy(f)
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        if not isinstance(state, dict) or not state:
            raise ValueError("it holds no state dict")
        out = {}
        for name, value in state.items():
            if not isinstance(value, _Tensor):
                raise ValueError(f"{name!s:.60} is not a tensor")
            out[str(name)] = value.array()
        return out
    except (pickle.UnpicklingError, ValueError, EOFError, KeyError, struct.error, zipfile.BadZipFile) as err:
        raise WeightsError(
            f"{path}: not a PyTorch state dict of tensors ({str(err)[:120] or type(err).__name__}); "
            "use the original .pth file."
        ) from None
