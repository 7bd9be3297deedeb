"""Model builders by name, and weight loading that refuses to load the wrong weights.

Every builder is a function returning a `keras.Model` whose first input is the
normalized L channel `(b, h, w, 1)` and whose output is normalized ab `(b, h, w, 2)`.
Models with a second input (`full`) take a global image embedding there.
"""

import json
import os
import warnings

import keras

from colornet.errors import ColornetError
from colornet.models.alpha import build_alpha
from colornet.models.beta import build_beta
from colornet.models.fusion import build_fusion  # also registers its layer for .keras files


class WeightsError(ColornetError, ValueError):
    """Weights that cannot be used with a model; the message says what to do."""


MODELS = {
    "alpha": build_alpha,
    "beta": build_beta,
    "full": build_fusion,
}


def build_model(name: str, **options) -> keras.Model:
    """Build a model by name (`alpha`, `beta`, `full`) with builder options such as `width`."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    return MODELS[name](**options)


def config_path(weights_path: str) -> str:
    """The JSON file that records which model and options a weights file belongs to."""
    base = str(weights_path)
    for suffix in (".weights.h5", ".h5", ".keras"):
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base + ".json"


def save_config(weights_path: str, name: str, options: dict, **extra) -> None:
    """Write the model name and builder options next to a weights file."""
    with open(config_path(weights_path), "w") as f:
        json.dump({"model": name, "options": options, **extra}, f, indent=2)


def read_config(weights_path: str) -> dict | None:
    path = config_path(weights_path)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path}: unreadable model description ({err}); delete or restore it.") from None
    if "model" not in config:
        raise WeightsError(f"{path}: no 'model' entry; it does not describe a colornet model.")
    return config


def is_lfs_pointer(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(64).startswith(b"version https://git-lfs")


def load_weights(model: keras.Model, path: str) -> keras.Model:
    """Load `path` into `model`, or raise a one-line `WeightsError`.

    Unlike a bare `model.load_weights`, a file for another model or another
    width is refused as a whole instead of being partly loaded.
    """
    path = str(path)
    if not os.path.exists(path):
        raise WeightsError(f"{path}: weights file not found; check the path or train the model first.")
    if os.path.getsize(path) == 0:
        raise WeightsError(f"{path}: empty weights file; download or train it again.")
    if is_lfs_pointer(path):
        raise WeightsError(f"{path}: is a Git LFS pointer, not the weights; run `git lfs pull`.")
    config = read_config(path)
    expected = model.name.split("_")[0]
    if config and config["model"] != expected and expected in MODELS:
        raise WeightsError(
            f"{path}: weights of a {config['model']!r} model cannot be loaded into {model.name!r}; "
            f"use --model {config['model']} or other weights."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns per layer before it raises
            model.load_weights(path)
    except Exception as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(
            f"{path}: does not fit the {model.name!r} model ({reason[:200]}); "
            "check the model name and options (width, batch norm) it was trained with."
        ) from None
    return model


def model_from_weights(path: str, **overrides) -> keras.Model:
    """Build the model described by the JSON next to `path` and load the weights into it."""
    config = read_config(path)
    if config is None:
        raise WeightsError(
            f"{path}: no {os.path.basename(config_path(path))} next to it to say which model it is; "
            "pass the model name (alpha, beta, full) instead."
        )
    options = {**config.get("options", {}), **overrides}
    return load_weights(build_model(config["model"], **options), path)


def predict_ab(model: keras.Model, l_norm, embedding=None, embedder=None):
    """Run a colorization model on normalized L `(b, h, w, 1)` -> normalized ab `(b, h, w, 2)`.

    Models with a second input (the Full/fusion model) need a global embedding
    of each image: pass it as `embedding`, or an `embedder` callable
    (normalized L batch -> embeddings); otherwise `colornet.embed` computes it
    with its default (ImageNet) classifier.
    """
    import numpy as np

    l_norm = keras.ops.convert_to_tensor(l_norm, dtype="float32")
    if len(model.inputs) == 1:
        return np.asarray(model(l_norm, training=False))
    if embedding is None:
        if embedder is None:
            from colornet.embed import Embedder

            embedder = Embedder()
        embedding = embedder(l_norm)
    embedding = keras.ops.convert_to_tensor(embedding, dtype="float32")
    return np.asarray(model([l_norm, embedding], training=False))
