"""Weights files: the JSON beside each one, provided weights looked up by name and checked
against `weights/SHA256SUMS`, and loading that refuses the wrong file as a whole.

    model, config = load_model("beta")                        # weights/beta.weights.h5, verified
    model, config = load_model("runs/mine/best.weights.h5")   # any file with its .json beside it

`config` is the JSON: `{"model": "beta", "options": {...}, "size": 128}`; `size` is the
crop size the weights were trained at (colorize predicts colors at that scale).
"""

import json
import os
import warnings
from pathlib import Path

import keras
import numpy as np

from colornet.arguments import WORK_SIZE_RANGE
from colornet.bins import check_temperature, check_undo
from colornet.errors import WeightsError
from colornet.files import atomic_write_json, sha256  # noqa: F401  (sha256 kept importable from here)
from colornet.models import DESIGNS, get_design
from colornet.precision import precision_scope

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
WEIGHTS_SUFFIXES = (".weights.h5", ".h5", ".keras")


# --- the JSON beside a weights file ---------------------------------------------------


def config_path(weights_path) -> str:
    """The JSON file that records which model and options a weights file belongs to."""
    base = str(weights_path)
    for suffix in WEIGHTS_SUFFIXES:
        if base.endswith(suffix):
            base = base[: -len(suffix)]
            break
    return base + ".json"


def save_config(weights_path, name: str, options: dict, **extra) -> None:
    """Write the model name and builder options (and `extra`, e.g. `size`) next to a weights file."""
    atomic_write_json(config_path(weights_path), {"model": name, "options": options, **extra})


def read_config(weights_path) -> dict | None:
    """The JSON beside a weights file, or None when there is none."""
    path = config_path(weights_path)
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path}: unreadable model description ({err}); delete or restore it.") from None
    if not isinstance(config, dict) or "model" not in config:
        raise WeightsError(f"{path}: no 'model' entry; it does not describe a colornet model.")
    check_config(path, config)
    return config


def check_config(path, config: dict) -> None:
    """Raise a one-line `WeightsError` naming the JSON file `path` where `config` has an entry
    of the wrong kind, or options the model's builder does not take (see `Design.check_options`)."""
    low, high = WORK_SIZE_RANGE
    size, classes, prior = config.get("size"), config.get("classes"), config.get("prior")

    def pixels(value) -> bool:  # a whole number of pixels in the range
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high

    problem = None
    if not isinstance(config["model"], str):
        problem = f"'model' must be a model's name, not {config['model']!r}"
    elif not isinstance(config.get("options", {}), dict):
        problem = f"'options' must be an object of builder options, not {config['options']!r}"
    elif size is not None and not pixels(size):
        problem = (
            f"'size' (the training size) must be a whole number of pixels from {low} to {high}, not {size!r}"
        )
    elif "work_size" in config and not pixels(config["work_size"]):
        problem = (
            "'work_size' (the working resolution chosen for these weights) must be a whole number of "
            f"pixels from {low} to {high}, not {config['work_size']!r}"
        )
    elif classes is not None and not (isinstance(classes, list) and all(isinstance(c, str) for c in classes)):
        problem = f"'classes' must be a list of scene class names, not {classes!r}"
    elif prior is not None and not (isinstance(prior, str) and prior.strip()):
        problem = f"'prior' must name the prior's file, not {prior!r}"
    elif "decoding" in config:
        problem = decoding_problem(config["decoding"], prior)
    elif config["model"] in DESIGNS:
        try:
            get_design(config["model"]).check_options(config.get("options", {}))
        except ValueError as err:
            problem = str(err)
    if problem:
        raise WeightsError(f"{path}: {problem}; correct it or restore the file from the training run.")


def decoding_problem(decoding, prior) -> str | None:
    """What is wrong with a weights file's `decoding` entry (`{"temperature": T,
    "undo_rebalancing": S}`, either or both: how `colorize` decodes a bin head's colors unless told
    otherwise, chosen for these weights), or None."""
    keys = {"temperature": check_temperature, "undo_rebalancing": check_undo}
    if not isinstance(decoding, dict) or not decoding or set(decoding) - set(keys):
        return f"'decoding' must be an object with 'temperature' and/or 'undo_rebalancing', not {decoding!r}"
    for key, check in keys.items():
        if key in decoding:
            value = decoding[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return f"'decoding' '{key}' must be a number, not {value!r}"
            try:
                check(value)
            except ValueError as err:
                return f"'decoding': {err}"
    if decoding.get("undo_rebalancing") and prior is None:
        return "'decoding' takes back part of the rebalancing, but no 'prior' names the prior it was trained with"
    return None


def is_lfs_pointer(path) -> bool:
    with open(path, "rb") as f:
        return f.read(64).startswith(b"version https://git-lfs")


# --- loading into a built model -----------------------------------------------------------


RUN_WEIGHTS = "best.weights.h5"  # what a run folder of `colornet train` keeps as its weights


def weights_file(path) -> str:
    """A weights path as given, or a run folder's best weights (`runs/beta` -> `runs/beta/best.weights.h5`).

    Raises:
        WeightsError: a folder that holds no best.weights.h5.
    """
    path = str(path)
    if os.path.isdir(path):
        best = Path(path) / RUN_WEIGHTS
        if not best.is_file():
            raise WeightsError(
                f"{path}: is a folder without {RUN_WEIGHTS} (not a finished training run); "
                "pass a .weights.h5 file or a run folder."
            )
        return str(best)
    return path


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise WeightsError(f"{path}: weights file not found; check the path or train the model first.")
    if os.path.getsize(path) == 0:
        raise WeightsError(f"{path}: empty weights file; download or train it again.")
    if is_lfs_pointer(path):
        raise WeightsError(f"{path}: is a Git LFS pointer, not the weights; run `git lfs pull`.")


def load_weights(model: keras.Model, path, design: str | None = None) -> keras.Model:
    """Load `path` into `model`, or raise a one-line `WeightsError`.

    Unlike a bare `model.load_weights`, a file for another model or another
    width is refused as a whole instead of being partly loaded.

    Args:
        model: the built network.
        path: a `.weights.h5` file.
        design: the design `model` is (default: the model's name, when it is a design's);
            the JSON beside `path` must name the same one.
    """
    path = weights_file(path)
    _check_file(path)
    config = read_config(path)
    expected = design or (model.name if model.name in DESIGNS else None)
    takes = (expected, *get_design(expected).loads) if expected in DESIGNS else (expected,)
    if config and expected and config["model"] not in takes:
        raise WeightsError(
            f"{path}: weights of a {config['model']!r} model cannot be loaded into {expected!r}; "
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
            "check the model name and the options (width, depth, batch norm, scene classes) it was trained with."
        ) from None
    check_finite_weights(model, path)
    return model


def transfer_weights(source: keras.Model, target: keras.Model) -> int:
    """Copy each weight of `source` into the weight of `target` with the same path and shape
    (a network and the same network with a branch more); returns how many were copied."""
    theirs = {w.path: w for w in source.weights}
    copied = 0
    for weight in target.weights:
        match = theirs.get(weight.path)
        if match is not None and tuple(match.shape) == tuple(weight.shape):
            weight.assign(match)
            copied += 1
    return copied


def check_finite_weights(model: keras.Model, path) -> None:
    """Raise a one-line `WeightsError` where loaded weights hold NaN or infinite values (a
    training run that diverged, a damaged file): such a network colors every photo black."""
    bad = []
    for weight in model.weights:
        values = np.asarray(weight.numpy())
        if values.dtype.kind == "f" or "float" in str(values.dtype):
            if not np.all(np.isfinite(values.astype(np.float32))):
                bad.append(weight.path)
    if bad:
        raise WeightsError(
            f"{path}: {len(bad)} of its weight tensors hold NaN or infinite values (first: {bad[0]}), "
            "from a training run that diverged or a damaged file; use other weights or retrain."
        )


def model_from_weights(path, precision: str = "float32", **overrides) -> keras.Model:
    """Build the model described by the JSON next to `path` and load the weights into it."""
    return load_model(path, precision=precision, **overrides)[0]


# --- provided weights by name ----------------------------------------------------------------


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


# Provided weights named after no design: a design's network built with other options
# (name -> the design it is)
VARIANTS = {"features-hints": "features"}


def provided_names(weights_dir=WEIGHTS_DIR) -> list[str]:
    """The models whose weights the project provides (listed in `SHA256SUMS`), e.g. `["beta"]`:
    designs, then variants (`VARIANTS`)."""
    provided = recorded_checksums(weights_dir)
    return [name for name in [*DESIGNS, *VARIANTS] if f"{name}.weights.h5" in provided]


def is_model_name(name) -> bool:
    """Whether `name` is a design's or a variant's name (provided weights by name), not a path."""
    return str(name) in DESIGNS or str(name) in VARIANTS


def resolve_weights(name_or_path, weights_dir=WEIGHTS_DIR) -> tuple[str, str | None]:
    """A model name (`beta`) or a weights path -> (path, recorded sha256 or None).

    Raises:
        WeightsError: missing file, Git LFS pointer, or a file whose checksum
            differs from the recorded one (a truncated or corrupt download).
    """
    name_or_path = str(name_or_path)
    if not name_or_path.strip():
        raise WeightsError(
            f"the model is empty; pass a provided model ({', '.join(provided_names(weights_dir)) or 'beta'}) "
            "or a weights file."
        )
    if is_model_name(name_or_path):
        path = Path(weights_dir) / f"{name_or_path}.weights.h5"
        expected = recorded_checksums(weights_dir).get(path.name)
        if not path.exists():
            raise WeightsError(
                f"{path}: no provided weights for {name_or_path!r}; train them with "
                f"`python -m colornet train {name_or_path} --data DIR` or pass --model PATH."
            )
    else:
        path = Path(weights_file(name_or_path))
        expected = None
        if not path.exists():
            raise WeightsError(
                f"{path}: weights file not found; pass {', '.join(provided_names(weights_dir))} "
                "or an existing path."
            )
        if not path.is_file():
            raise WeightsError(f"{path}: not a weights file; pass a .weights.h5 file or a run folder.")
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


def load_model(
    name_or_path, weights_dir=WEIGHTS_DIR, *, precision: str = "float32", **options
) -> tuple[keras.Model, dict]:
    """Build a model and load its weights: by name from `weights_dir`, or from a path.

    A path needs the JSON written beside it by `colornet train` (model name,
    options, training size); a name uses the JSON beside the provided weights.

    Args:
        name_or_path: `beta`, ... or a `.weights.h5` path.
        weights_dir: where provided weights are looked up by name.
        precision: the Keras dtype policy to build the network under.
        **options: builder options that replace the recorded ones.

    Returns:
        `(model, config)`: the network and the JSON's contents (`model`, `options`, `size`; for bin
        heads `prior`, made the path of the prior file, which the JSON names relative to itself).
    """
    path, _ = resolve_weights(name_or_path, weights_dir)
    config = read_config(path)
    if config is None:
        name = str(name_or_path)
        if name not in DESIGNS:
            raise WeightsError(
                f"{path}: no {os.path.basename(config_path(path))} beside it says which model it is; "
                "save it with `colornet train`, or pass a model name "
                f"({', '.join(provided_names(weights_dir))})."
            )
        config = {"model": name, "options": {}}
    if config["model"] not in DESIGNS:
        raise WeightsError(
            f"{config_path(path)}: names an unknown model {config['model']!r}; "
            f"this colornet knows {', '.join(DESIGNS)}."
        )
    if config.get("prior"):
        config = {**config, "prior": os.path.join(os.path.dirname(path), config["prior"])}
    design = get_design(config["model"])
    try:
        with precision_scope(precision):
            model = design.build(**{**config.get("options", {}), **options})
    except (ValueError, TypeError) as err:  # a value the builder refuses (width -3, head "rgb")
        reason = " ".join(str(err).split()).rstrip(".")
        raise WeightsError(
            f"{config_path(path)}: its options cannot build a {design.name} model ({reason}); "
            "correct them or restore the file from the training run."
        ) from None
    return load_weights(model, path, design.name), config
