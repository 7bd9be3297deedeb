"""Provided weights: looked up by name in `weights/` and checked against `weights/SHA256SUMS`.

>>> model = load_model("beta")                    # weights/beta.weights.h5, verified
>>> model = load_model("runs/mine/best.weights.h5")  # any file with its .json beside it
"""

import hashlib
import os
from pathlib import Path

import keras

from colornet.models import (
    MODELS,
    WeightsError,
    build_model,
    is_lfs_pointer,
    load_weights,
    model_from_weights,
    read_config,
)

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"


def sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def recorded_checksums(weights_dir=WEIGHTS_DIR) -> dict[str, str]:
    """File name -> sha256, from `SHA256SUMS` (the `sha256sum` format) in `weights_dir`."""
    sums = {}
    path = Path(weights_dir) / "SHA256SUMS"
    if path.exists():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 2:
                sums[parts[1].lstrip("*")] = parts[0]
    return sums


def resolve_weights(name_or_path, weights_dir=WEIGHTS_DIR) -> tuple[str, str | None]:
    """A model name (`beta`) or a weights path -> (path, recorded sha256 or None).

    Raises:
        WeightsError: missing file, Git LFS pointer, or a file whose checksum
            differs from the recorded one (a truncated or corrupt download).
    """
    name_or_path = str(name_or_path)
    if name_or_path in MODELS:
        path = Path(weights_dir) / f"{name_or_path}.weights.h5"
        expected = recorded_checksums(weights_dir).get(path.name)
        if not path.exists():
            raise WeightsError(
                f"{path}: no provided weights for {name_or_path!r}; train them with "
                f"`python -m colornet train {name_or_path} --data DIR` or pass --model PATH."
            )
    else:
        path = Path(name_or_path)
        expected = None
        if not path.exists():
            raise WeightsError(f"{path}: weights file not found; pass alpha, beta, full or an existing path.")
    if os.path.getsize(path) == 0:
        raise WeightsError(
            f"{path}: empty weights file; restore it with `git checkout -- {path}` or retrain."
        )
    if is_lfs_pointer(path):
        raise WeightsError(
            f"{path}: is a Git LFS pointer, not the weights; run `git lfs pull` to fetch them."
        )
    if expected is not None and sha256(path) != expected:
        raise WeightsError(
            f"{path}: checksum differs from weights/SHA256SUMS (truncated or corrupt file); "
            f"restore it with `git checkout -- {path}`."
        )
    return str(path), expected


def load_model(name_or_path, weights_dir=WEIGHTS_DIR, **options) -> keras.Model:
    """Build a model and load its weights: by name from `weights_dir`, or from a path.

    A path needs the JSON written beside it by `colornet train` (model name,
    options, training size); a name uses the JSON beside the provided weights.
    The model's `training_size` attribute is the recorded training size, or None.
    """
    path, _ = resolve_weights(name_or_path, weights_dir)
    config = read_config(path)
    if config is not None:
        model = model_from_weights(path, **options)
    else:
        name = str(name_or_path)
        if name not in MODELS:
            raise WeightsError(
                f"{path}: no .json beside it says which model it is; save it with `colornet train` or pass a model name."
            )
        model = load_weights(build_model(name, **options), path)
    # The crop size it was trained at: colorize and evaluate predict colors at that scale.
    model.training_size = (config or {}).get("size")
    return model
