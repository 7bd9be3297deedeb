"""Shared fixtures: small photo folders made offline from scikit-image's bundled photos."""

import os
import re

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BUNDLED = ("astronaut", "chelsea", "coffee", "rocket")


def bundled_photo(name: str) -> np.ndarray:
    """A real color photo shipped with scikit-image, uint8 (h, w, 3)."""
    from skimage import data

    return getattr(data, name)()[..., :3]


def make_photo_folder(folder, n: int = 12, size: int = 48, seed: int = 0) -> list[str]:
    """Write `n` color photos of about `size` px: random crops of bundled photos,
    jpg and png, landscape and portrait, in two subfolders."""
    from colornet.samples import write_crops

    return write_crops(folder, {name: bundled_photo(name) for name in BUNDLED}, n=n, size=size, seed=seed)


@pytest.fixture
def photo_folder(tmp_path):
    """A folder (with subfolders) of 12 small real-photo crops."""
    folder = tmp_path / "photos"
    make_photo_folder(folder)
    return str(folder)


NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")
WEIGHTS = os.path.join(os.path.dirname(NOTEBOOKS), "weights")


def provided_weights(*names) -> set[str]:
    """Those of `names` whose provided weights are in the repository's `weights/`."""
    return {name for name in names if os.path.exists(os.path.join(WEIGHTS, f"{name}.weights.h5"))}


# What TensorFlow, absl and XLA write when nothing keeps them quiet: glog lines (`I0000 00:00:...`,
# `E0000 ...`), absl's first line, oneDNN's, CUDA's and XLA's start-up lines.
TF_LOG_LINE = re.compile(
    r"^[IWEF]\d{4} \d\d:\d\d:\d\d|absl::InitializeLog|oneDNN|cuInit|cuda drivers|cpu_feature_guard"
    r"|XLA service|Compiled cluster using XLA|StreamExecutor|rebuild TensorFlow|WARNING:tensorflow",
    re.MULTILINE,
)


def notebook_text(nb) -> str:
    """Everything an executed notebook shows as text: streams, results and errors."""
    parts = []
    for cell in nb.cells:
        previous = None
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and previous == output.name:
                parts[-1] += output.text  # one print can arrive in pieces on a busy machine
            elif output.output_type == "stream":
                parts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                parts.append(output.get("data", {}).get("text/plain", ""))
            elif output.output_type == "error":
                parts.append("\n".join(output.traceback))
            previous = output.get("name") if output.output_type == "stream" else None
    return "\n".join(parts)


# A notebook test runs its notebook once in `python -m pytest`, and once more after a reader's change of
# a setting (in the same folders, so the second run meets the first one's files) in `python -m pytest -m slow`.
RERUN = pytest.mark.parametrize(
    "rerun", [pytest.param(False, id="once"), pytest.param(True, id="again", marks=pytest.mark.slow)]
)


def run_notebook(name: str, env: dict, timeout: int = 600, edits: dict | None = None):
    """Execute `notebooks/<name>` top to bottom in quick mode, with `env` set; return the notebook.

    `edits` maps text in the notebook's code to its replacement, as a reader changes a setting
    (each must occur). TensorFlow's log level is left unset, as in a reader's Jupyter: the notebook
    must keep TensorFlow quiet itself, and any TensorFlow log line in its outputs fails the test.
    Fails with the failing cell's error if any cell raises.
    """
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    for old, new in (edits or {}).items():
        cells = [c for c in nb.cells if c.cell_type == "code" and old in c.source]
        assert cells, f"{name}: no code cell contains {old!r}"
        for cell in cells:
            cell.source = cell.source.replace(old, new)
    names = [*env, "COLORNET_QUICK", "MPLBACKEND", "TF_CPP_MIN_LOG_LEVEL"]
    old = {k: os.environ.get(k) for k in names}
    os.environ.pop("TF_CPP_MIN_LOG_LEVEL", None)
    os.environ.update({"COLORNET_QUICK": "1", "MPLBACKEND": "Agg", **{k: str(v) for k, v in env.items()}})
    try:
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}
        ).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    logs = TF_LOG_LINE.findall(notebook_text(nb))
    assert not logs, f"{name}: TensorFlow log lines in the outputs: {logs}"
    echoed = [
        o["data"]["text/plain"]
        for c in nb.cells
        for o in c.get("outputs", [])
        if o.output_type == "execute_result" and re.fullmatch(r"-?\d+", o["data"].get("text/plain", ""))
    ]
    assert not echoed, f"{name}: a cell echoes a stray number: {echoed}"
    return nb


def save_tiny_beta(path, seed: int = 0, edit=None) -> str:
    """Save the weights of a tiny Beta (width 1/8) and its .json; `edit(model)` may change
    the weights first. Returns the path."""
    import keras

    from colornet.models import build_model
    from colornet.weights import save_config

    keras.utils.set_random_seed(seed)
    model = build_model("beta", width=0.125)
    if edit is not None:
        edit(model)
    model.save_weights(str(path))
    save_config(str(path), "beta", {"width": 0.125})
    return str(path)


def save_tiny_hints(path, seed: int = 0) -> str:
    """Save a tiny default-model network with hint channels (`features`, width 1/8, `hints`) and
    its .json and prior: random weights, its hint branches too (not zero), so that a hint changes
    the colors. Returns the path."""
    import keras

    from colornet.bins import ab_bins
    from colornet.models import build_model
    from colornet.weights import save_config

    keras.utils.set_random_seed(seed)
    model = build_model("features", width=0.125, hints=True)
    for layer in model.layers:
        if layer.name.startswith("features_hint") and layer.name.endswith("_out"):
            kernel = layer.kernel
            kernel.assign(np.random.default_rng(seed).normal(0, 3.0, kernel.shape).astype("float32"))
    model.save_weights(str(path))
    prior = os.path.join(os.path.dirname(str(path)), "tiny_prior.npy")
    bins = ab_bins()
    np.save(prior, np.column_stack([bins, np.full(len(bins), 1.0 / len(bins))]).astype(np.float32))
    save_config(str(path), "features", {"width": 0.125, "hints": True}, size=64, prior="tiny_prior.npy")
    return str(path)
