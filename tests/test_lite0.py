"""EfficientNet-Lite0: reading PyTorch state dicts without PyTorch, the converter, the committed
ImageNet weights and their checks."""

import io
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import tensorflow as tf
from skimage import data as skdata

from colornet import lite0
from colornet.errors import WeightsError
from colornet.pth import LEGACY_MAGIC, read_state_dict

# --- writing .pth files here, as torch.save does, without PyTorch -----------------------------

_DTYPES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


@pytest.fixture
def fake_torch(monkeypatch):
    """Modules named `torch` and `torch._utils` holding what a state dict's pickle names, so that
    `pickle` writes the same globals as torch.save."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # never called: only its name goes into the pickle
        raise AssertionError

    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    _rebuild_tensor_v2.__module__ = "torch._utils"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    for name in _DTYPES.values():
        setattr(torch, name, type(name, (), {"__module__": "torch", "__qualname__": name}))
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Tensor:
    def __init__(self, array, key, torch, transposed=False):
        self.array, self.key, self.torch, self.transposed = np.asarray(array), key, torch, transposed

    def storage_bytes(self) -> bytes:
        data = self.array.T if self.transposed else self.array  # the storage holds the transpose
        return np.ascontiguousarray(data).tobytes()

    def __reduce__(self):
        shape = self.array.shape
        if self.transposed:  # stored as its transpose, read through strides (a non-contiguous tensor)
            stride = (1, shape[0]) if len(shape) == 2 else (1,)
        else:
            stride = tuple(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))
        storage = (
            "storage",
            getattr(self.torch, _DTYPES[self.array.dtype]),
            self.key,
            "cpu",
            self.array.size,
        )
        return (
            sys.modules["torch._utils"]._rebuild_tensor_v2,
            (_Storage(storage), 0, shape, stride, False, OrderedDict()),
        )


class _Storage:
    def __init__(self, pid):
        self.pid = pid


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.pid if isinstance(obj, _Storage) else None


def write_pth(path, state: dict, torch, layout: str = "legacy", transposed=()):
    tensors = OrderedDict(
        (name, _Tensor(value, str(i), torch, name in transposed))
        for i, (name, value) in enumerate(state.items())
    )
    body = io.BytesIO()
    _Pickler(body, protocol=2).dump(tensors)
    if layout == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", body.getvalue())
            for t in tensors.values():
                archive.writestr(f"archive/data/{t.key}", t.storage_bytes())
        return path
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {"protocol_version": 1001, "little_endian": True}):
            pickle.dump(header, f, protocol=2)
        f.write(body.getvalue())
        pickle.dump([t.key for t in tensors.values()], f, protocol=2)
        for t in tensors.values():
            f.write(struct.pack("<q", t.array.size) + t.storage_bytes())
    return path


TINY = {
    "conv.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
    "fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "bn.num_batches_tracked": np.array(5, np.int64),
}


@pytest.mark.parametrize("layout", ["legacy", "zip"])
def test_a_state_dict_reads_back_without_pytorch(tmp_path, fake_torch, layout):
    path = write_pth(tmp_path / "tiny.pth", TINY, fake_torch, layout, transposed=("fc.weight",))
    state = read_state_dict(path)
    assert list(state) == list(TINY)
    for name, value in TINY.items():
        assert state[name].dtype == value.dtype and state[name].shape == value.shape
        np.testing.assert_array_equal(state[name], value)


def test_code_in_the_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            import os

            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for header in (LEGACY_MAGIC, 1001, {}):
            pickle.dump(header, f)
        pickle.dump({"x": Evil()}, f)
    with pytest.raises(WeightsError, match=r"evil\.pth: not a PyTorch state dict of tensors \(.*system"):
        read_state_dict(path)
    assert not marker.exists()


def test_truncated_other_and_missing_files_are_one_line(tmp_path, fake_torch):
    path = write_pth(tmp_path / "tiny.pth", TINY, fake_torch)
    cut = tmp_path / "cut.pth"
    cut.write_bytes(path.read_bytes()[:-20])
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps({"a": 1}))
    for bad in (cut, other, tmp_path / "missing.pth"):
        with pytest.raises(WeightsError) as err:
            read_state_dict(bad)
        assert bad.name in str(err.value) and "\n" not in str(err.value)


# --- the converter ----------------------------------------------------------------------------


def torch_state_of(model) -> dict:
    """The state dict the PyTorch port would have for a Keras Lite0's weights (the inverse of the
    converter's transposes), with BN's num_batches_tracked as the port has them."""
    state = {}
    for keras_name, prefix in lite0.keras_names().items():
        layer = model.get_layer(keras_name)
        values = [np.asarray(w) for w in layer.get_weights()]
        if len(values) == 4:  # batch norm
            for key, v in zip(("weight", "bias", "running_mean", "running_var"), values):
                state[f"{prefix}.{key}"] = v
            state[f"{prefix}.num_batches_tracked"] = np.array(0, np.int64)
        elif keras_name == "predictions":
            state[f"{prefix}.weight"], state[f"{prefix}.bias"] = values[0].T, values[1]
        elif "dwconv" in keras_name:
            state[f"{prefix}.weight"] = values[0].transpose(2, 3, 0, 1)
        else:
            state[f"{prefix}.weight"] = values[0].transpose(3, 2, 0, 1)
    return state


def test_the_converter_puts_every_tensor_in_its_layer(tmp_path, fake_torch):
    source = lite0.build_efficientnet_lite0(True)
    rng = np.random.default_rng(0)
    for layer in source.layers:
        if layer.weights:
            layer.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in layer.weights])
    pth = write_pth(tmp_path / "lite0.pth", torch_state_of(source), fake_torch)
    converted = lite0.convert_pth(pth, tmp_path / "lite0.weights.h5")
    assert (tmp_path / "lite0.weights.h5").is_file()
    assert sum(int(np.prod(w.shape)) for w in converted.weights) == 4_694_024  # with BN's statistics
    for layer in source.layers:
        for a, b in zip(layer.get_weights(), converted.get_layer(layer.name).get_weights()):
            np.testing.assert_array_equal(a, b)
    x = rng.uniform(0, 255, (1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(converted(x), source(x), rtol=1e-5, atol=1e-6)


def test_another_networks_state_dict_is_refused(tmp_path, fake_torch):
    pth = write_pth(tmp_path / "tiny.pth", TINY, fake_torch)
    with pytest.raises(WeightsError, match="not EfficientNet-Lite0's"):
        lite0.convert_pth(pth, tmp_path / "x.weights.h5")
    assert not (tmp_path / "x.weights.h5").exists()


# --- the committed ImageNet weights -----------------------------------------------------------


@pytest.fixture(scope="module")
def classifier():
    return lite0.efficientnet_lite0("imagenet", include_top=True)


def top5(model, image) -> list[int]:
    x = tf.image.resize(image[None].astype(np.float32), (224, 224), antialias=True)
    return list(np.argsort(-model.predict(x, verbose=0)[0])[:5])


def test_the_committed_weights_recognize_a_cat_and_a_coffee(classifier):
    cats = set(range(281, 286)) | {287}  # tabby, tiger cat, Persian, Siamese, Egyptian cat, lynx
    assert set(top5(classifier, skdata.chelsea())[:4]) <= cats
    assert top5(classifier, skdata.coffee())[0] in {967, 968, 504}  # espresso, cup, coffee mug


def test_without_the_head_any_size_and_pooled():
    model = lite0.efficientnet_lite0(include_top=False, input_shape=(96, 128, 3))
    assert model.output_shape == (None, 3, 4, 1280)
    pooled = lite0.efficientnet_lite0(include_top=False, pooling="avg")
    assert pooled.output_shape == (None, 1280)


def test_a_corrupt_or_missing_weights_file_is_one_line(tmp_path, monkeypatch):
    import colornet.pretrained as pretrained

    folder = tmp_path / "weights"
    folder.mkdir()
    real = pretrained.default_weights_dir() / lite0.WEIGHTS_FILE
    (folder / "SHA256SUMS").write_text((pretrained.default_weights_dir() / "SHA256SUMS").read_text())
    monkeypatch.setattr(pretrained, "default_weights_dir", lambda: folder)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(WeightsError, match="is not in .*python -m colornet.cli.lite0"):
        lite0.efficientnet_lite0()
    (folder / lite0.WEIGHTS_FILE).write_bytes(real.read_bytes()[:100_000])
    with pytest.raises(WeightsError, match="checksum differs"):
        lite0.efficientnet_lite0()
    bad = tmp_path / "bad.weights.h5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(WeightsError, match="not usable as EfficientNet-Lite0 weights"):
        lite0.efficientnet_lite0(bad)
