"""What every notebook does first: TensorFlow kept quiet, quick mode, versions, seed and folders.

    >>> QUICK, TRAIN_DIR, VAL_DIR, TEST_DIR, OUT = setup("02_beta", QUICK)
    TensorFlow 2.21.0 | Keras 3.15.1 | colornet 0.1.0 | GPU: none
    quick mode

The folders come from environment variables when they are set (the tests set them to temporary
folders), else from the repository's `data/` and `results/`, relative to `notebooks/`. In Colab the
working folder becomes the clone's `notebooks/`, so that these relative paths hold there too.
"""

import os
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

from colornet.console import quiet_tensorflow

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SEED = 42  # every notebook's random seed, set before anything random happens
# TensorFlow's warning that eager functions leave `tf.data` pipelines traced: true, and nothing to act on
TF_DATA_NOTE = "`tf.config.experimental_run_functions_eagerly` option is set"

# Settings field -> (environment variable, default relative to notebooks/); `out` adds the notebook's name
FOLDERS = {
    "train": ("COLORNET_TRAIN", "../data/Train"),
    "val": ("COLORNET_VAL", "../data/Val"),
    "test": ("COLORNET_TEST", "../data/Test"),
    "out": ("COLORNET_OUT", "../results"),
}


class Settings(NamedTuple):
    """A notebook's settings, in the order a notebook unpacks them."""

    quick: bool  # True: a few photos, a few epochs, small networks: every step runs, results mean little
    train: Path  # photos to learn from
    val: Path  # held-out photos, never trained on
    test: Path  # photos to colorize at the end
    out: Path  # what the notebook writes (created)


def quick_mode(quick: bool | None, environ=None) -> bool:
    """The notebook's `QUICK` when it is True or False; with None, the environment variable
    `COLORNET_QUICK` decides (1: quick)."""
    if quick is not None:
        return bool(quick)
    return (os.environ if environ is None else environ).get("COLORNET_QUICK") == "1"


def folders(name: str, environ=None) -> dict[str, Path]:
    """The notebook `name`'s folders: `COLORNET_TRAIN`, `COLORNET_VAL`, `COLORNET_TEST` and
    `COLORNET_OUT` where set and not empty, else `../data/Train`, `../data/Val`, `../data/Test` and
    `../results/<name>`."""
    environ = os.environ if environ is None else environ
    found = {}
    for field, (variable, default) in FOLDERS.items():
        if environ.get(variable):
            found[field] = Path(environ[variable])
        else:
            found[field] = Path(default) / name if field == "out" else Path(default)
    return found


def in_colab() -> bool:
    return "google.colab" in sys.modules


def run_eagerly(eager: bool) -> None:
    """Run TensorFlow's functions (training and prediction steps) op by op, or traced into graphs.

    A quick run takes a few steps per network: op by op they cost less than tracing each network
    into a graph first, which takes seconds per network. A full run traces once and runs its graphs
    many times. `tf.data` pipelines are traced either way."""
    import tensorflow as tf

    from colornet.precision import matmul_speeds

    tf.config.run_functions_eagerly(eager)
    matmul_speeds.cache_clear()  # XLA's speed, measured for bfloat16 training, is measured in graphs only
    warnings.filterwarnings("ignore", message=f"Even though the {TF_DATA_NOTE}", category=UserWarning)


def setup(name: str, quick: bool | None = None, seed: int = SEED) -> Settings:
    """Start a notebook: TensorFlow without its log lines, its versions and the mode printed, functions
    run op by op in quick mode (`run_eagerly`), Python's, NumPy's and TensorFlow's random seeds set, the
    output folder created.

    Running it again (the cell run again, a setting changed) starts over the same way.

    Args:
        name: the notebook's name, `02_beta`: its results go to `../results/<name>`.
        quick: the notebook's `QUICK` setting; None leaves it to `COLORNET_QUICK`.
        seed: the random seed.

    Returns:
        `Settings(quick, train, val, test, out)`.
    """
    quiet_tensorflow()  # before anything imports TensorFlow: its start-up lines stay out of the outputs
    if in_colab() and NOTEBOOKS.is_dir():
        os.chdir(NOTEBOOKS)  # the clone's notebooks/, where ../data and ../weights are
    import keras
    import tensorflow as tf

    import colornet

    quick = quick_mode(quick)
    gpus = ", ".join(d.name.removeprefix("/physical_device:") for d in tf.config.list_physical_devices("GPU"))
    versions = f"TensorFlow {tf.__version__} | Keras {keras.__version__} | colornet {colornet.__version__}"
    print(f"{versions} | GPU: {gpus or 'none'}")
    print("quick mode" if quick else "full mode")
    run_eagerly(quick)
    keras.utils.set_random_seed(seed)
    found = folders(name)
    found["out"].mkdir(parents=True, exist_ok=True)
    return Settings(quick=quick, **found)
