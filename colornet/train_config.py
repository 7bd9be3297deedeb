"""The settings of a training run (`TrainConfig`, recorded in state.json) and what `train()` returns
(`TrainResult`).

Each setting says what it does once, in its `setting(...)`: that is its comment here and the help of
its flag, which `python -m colornet train` makes from it (`colornet.cli.train`), with the check,
choices and name the flag needs where it is not `--name-with-dashes`."""

from dataclasses import dataclass, field
from pathlib import Path

import keras

from colornet.distribute import CONNECT_TIMEOUT, STRATEGIES, WorkerInfo
from colornet.losses import LOSS_NAMES
from colornet.models import DESIGNS
from colornet.models.spec import TAKES
from colornet.predict import Colorizer

DEFAULT_LR = 5e-4  # Adam's learning rate for designs that do not set their own
MAX_SEED = 2**32 - 1  # NumPy's and Keras's seeds are 32-bit
FLAG_KEYS = ("flag", "flag_help", "takes", "low", "high", "choices", "values", "metavar", "nargs", "required")


def setting(default, help: str, **flag):
    """A `TrainConfig` field: its default, what it does (`help`, also its flag's; the command line
    adds `(default: ...)` where the help does not say it), and how its flag takes it:

        flag: the flag, where not `--name-with-dashes` (`--no-augment`); a name without dashes is
            the positional argument; None: no flag (the Python API's alone, or set from other flags)
        flag_help: the flag's help where the flag says the opposite (`--no-augment`)
        takes: what the value must be (`colornet.models.spec.TAKES`: whole, positive, share, path,
            switch, int, number); absent: any text, or one of `choices`
        low, high: the range of a whole number
        choices, metavar, nargs, required: as argparse's
        values: each value of the flag -> the setting's (`--xla on` -> True; a switch: False, True)
    """
    unknown = sorted(set(flag) - set(FLAG_KEYS)) + [t for t in [flag.get("takes")] if t and t not in TAKES]
    if unknown:
        raise ValueError(f"setting {help!r}: unknown {', '.join(map(str, unknown))}.")
    metadata = {"help": help, **flag}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def flag_of(f) -> str | None:
    """The flag of a `TrainConfig` field (`dataclasses.fields`): `--batch-size`, `--no-augment`,
    `model` (the positional argument), or None."""
    return f.metadata.get("flag", "--" + f.name.replace("_", "-"))


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in state.json)."""

    model: str = setting("beta", "which network to train", flag="model", choices=DESIGNS)
    data: str | list = setting(
        "data/Train", "folders (recursive), files or globs of training photos", nargs="+", required=True
    )
    data_weights: list | None = setting(
        None,
        "one weight per --data source: its share of the photos drawn in an epoch (e.g. --data corpus "
        "scenes faces --data-weights 2 1 1); an epoch still has as many photos as all sources together "
        "(default: every photo once an epoch)",
        takes="number",
        nargs="+",
        metavar="W",
    )
    val: str | list | None = setting(
        None, "held-out photos (default: hold out --val-split of --data)", nargs="+"
    )
    size: int = setting(
        128,
        "training crop size, a multiple of the model's size multiple (8 for alpha, beta, full, iizuka, "
        "zhang, dahl; 2^depth for unet, unet-gan)",
        takes="whole",
        low=8,
    )
    epochs: int = setting(10, "total epochs", takes="whole", low=1)
    batch_size: int = setting(
        16, "photos per batch on each replica; the global batch is this x replicas", takes="whole", low=1
    )
    lr: float | None = setting(
        None, f"Adam learning rate (default: {DEFAULT_LR}; unet-gan: 2e-4)", takes="positive"
    )
    loss: str | None = setting(
        None,
        "default: the model's own (mse for alpha, beta, full; blurred, the distance also after Gaussian "
        "blurs of 3 and 5 px, for dahl)",
        choices=LOSS_NAMES,
    )
    init: str | None = setting(
        None,
        "start from these weights (fine-tuning), e.g. weights/beta.weights.h5, or a run folder (its "
        "best.weights.h5) (default: random weights)",
        takes="path",
    )
    out: str | None = setting(
        None, "run directory (default: runs/MODEL); an existing run there is resumed", takes="path"
    )
    seed: int = setting(42, "random seed", takes="whole", low=0, high=MAX_SEED)
    val_split: float = setting(0.1, "share of --data held out when there is no --val", takes="share")
    limit: int | None = setting(None, "use at most N training photos (default: all)", takes="whole", low=1)
    steps_per_epoch: int | None = setting(
        None, "batches per epoch (default: the whole folder)", takes="whole", low=1
    )
    schedule: str = setting("none", "learning-rate schedule", choices=("none", "plateau", "cosine"))
    early_stopping: int | None = setting(
        None,
        "stop after PATIENCE epochs without improvement (default: never stop early)",
        takes="whole",
        low=1,
        metavar="PATIENCE",
    )
    average_epochs: int | None = setting(
        None,
        "also write averaged.weights.h5, the mean of the weights after each of the last K epochs (as "
        "stochastic weight averaging takes it) (default: none)",
        takes="whole",
        low=1,
        metavar="K",
    )
    augment: bool = setting(
        True,
        "the article's rotation/zoom/shear (crops and flips always)",
        flag="--no-augment",
        flag_help="no rotation/zoom/shear (crops and flips stay)",
        takes="switch",
        values={False: True, True: False},
    )
    on_error: str = setting(
        "skip",
        'unreadable photos: "skip" with a warning, or "raise"',
        flag="--strict",
        flag_help="stop at the first unreadable photo instead of skipping it",
        takes="switch",
        values={False: "skip", True: "raise"},
    )
    samples: int = setting(
        4, "validation photos in the per-epoch sample strip", flag=None, takes="whole", low=0
    )
    model_options: dict = setting(
        {},
        "the builder's options, e.g. {'width': 0.5}; their flags are the options the designs declare "
        "(colornet.models.spec.Option: --width, --depth, ...)",
        flag=None,
    )
    encoder_weights: str | None = setting(
        "imagenet",
        "unet --encoder, dahl: ImageNet weights (from weights/ or ~/.keras/models/, else Keras downloads "
        "them), a *_notop.h5 file, or none to train the encoder from scratch",
        metavar="imagenet|none|PATH",
    )
    embed_weights: str | None = setting(
        "imagenet", "full: the embedder's weights: imagenet, a .h5 path, or none"
    )
    embed_mode: str = setting(
        "cached",
        "full: embeddings computed once (cached) or per batch as in the article",
        choices=("cached", "per-batch"),
    )
    classes: str = setting(
        "auto",
        "iizuka: learn the scene class from folder names (auto) or not (none)",
        choices=("auto", "none"),
    )
    prior: str | None = setting(
        None,
        "zhang, beta --head bins: the prior over the ab bins (python -m colornet prior) (default: "
        "computed from --data before training and kept in the run folder)",
        metavar="FILE",
    )
    precision: str = setting(
        "auto",
        "numeric precision: auto, float32, mixed_bfloat16 or mixed_float16 (colornet.precision; its flag "
        "is the one the commands that colorize share, colornet.cli.options)",
    )
    jit_compile: bool | str = setting(
        "auto",
        "compile training steps with XLA: auto (on for GPUs; for bfloat16 on CPUs where its matmul is "
        "faster), on or off. Networks of depthwise convolutions (features) can run slower with it",
        flag="--xla",
        values={"auto": "auto", "on": True, "off": False},
    )
    strategy: str = setting(
        "auto",
        "one device, mirrored (every GPU of this machine), multiworker (machines in TF_CONFIG); auto "
        "picks multiworker when TF_CONFIG is set, mirrored with several GPUs, else one",
        choices=STRATEGIES,
    )
    connect_timeout: float = setting(
        CONNECT_TIMEOUT,
        "multiworker: how long to wait for the other machines",
        takes="positive",
        metavar="SECONDS",
    )
    verbose: int = setting(
        1, "progress bar (1), a line per epoch (2), none (0)", takes="int", choices=(0, 1, 2)
    )


@dataclass
class TrainResult:
    model: keras.Model
    history: dict  # metric name -> list of values, one per epoch, including resumed epochs
    out_dir: Path
    best_weights: Path
    epochs_run: int  # epochs trained by this call (0 when the run was already complete)
    colorizer: Colorizer | None = None  # the trained model ready for colorize/evaluate (its training size)
    precision: str = "float32"  # the dtype policy it trained under
    averaged_weights: Path | None = None  # averaged.weights.h5 where --average-epochs made it
    worker: WorkerInfo = field(default_factory=WorkerInfo)
