"""The settings of a training run (`TrainConfig`, recorded in state.json) and what `train()` returns
(`TrainResult`)."""

from dataclasses import dataclass, field
from pathlib import Path

import keras

from colornet.distribute import CONNECT_TIMEOUT, WorkerInfo
from colornet.predict import Colorizer

DEFAULT_LR = 5e-4  # Adam's learning rate for designs that do not set their own


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved in state.json)."""

    model: str = "beta"  # a design name: alpha, beta, full, ...
    data: str | list = "data/Train"  # folder (recursive), file, glob, or a list of them
    data_weights: list | None = None  # each `data` source's share of the photos drawn; None: as listed
    val: str | list | None = None  # held-out photos; None: split `val_split` off `data`
    size: int = 128  # side of the square training crops, a multiple of the design's size multiple
    epochs: int = 10  # total epochs, counting those of a resumed run
    batch_size: int = 16  # photos per batch on each replica (the global batch is this x replicas)
    lr: float | None = None  # Adam learning rate; None: the design's (unet-gan: 2e-4), else DEFAULT_LR
    loss: str | None = None  # mse (the article), mae or huber; None: the design's loss
    seed: int = 42
    init: str | None = None  # weights to start from (fine-tuning)
    out: str | None = None  # run directory; default runs/<model>
    val_split: float = 0.1  # share of `data` held out when `val` is None
    limit: int | None = None  # use at most this many training photos
    steps_per_epoch: int | None = None  # cut epochs short (quick runs)
    schedule: str = "none"  # none, plateau (reduce on plateau) or cosine
    early_stopping: int | None = None  # stop after this many epochs without improvement
    augment: bool = True  # the article's rotation/zoom/shear (crop and flip always)
    on_error: str = "skip"  # unreadable photos: "skip" with a warning, or "raise"
    samples: int = 4  # validation photos in the per-epoch sample strip
    model_options: dict = field(default_factory=dict)  # builder options, e.g. {"width": 0.5}
    encoder_weights: str | None = "imagenet"  # keras.applications encoders (unet, dahl): imagenet, path, none
    embed_weights: str | None = (
        "imagenet"  # designs with features (full): their weights (imagenet, path, none)
    )
    embed_mode: str = "cached"  # designs with features: cached or per-batch
    precision: str = "auto"  # auto, float32, mixed_bfloat16 or mixed_float16 (colornet.precision)
    strategy: str = "auto"  # auto, one, mirrored or multiworker (colornet.distribute)
    jit_compile: bool | str = (
        "auto"  # XLA: auto (on for GPUs; for bfloat16 on CPUs where it is faster), True or False
    )
    connect_timeout: float = CONNECT_TIMEOUT  # seconds a cluster's workers wait for each other
    classes: str = "auto"  # designs with a class head: classes from folder names (auto) or none
    prior: str | None = None  # bin heads (zhang, beta --head bins): prior file; None: computed from `data`
    verbose: int = 1  # Keras progress bar (1), one line per epoch (2), silent (0)


@dataclass
class TrainResult:
    model: keras.Model
    history: dict  # metric name -> list of values, one per epoch, including resumed epochs
    out_dir: Path
    best_weights: Path
    epochs_run: int  # epochs trained by this call (0 when the run was already complete)
    colorizer: Colorizer | None = None  # the trained model ready for colorize/evaluate (its training size)
    precision: str = "float32"  # the dtype policy it trained under
    worker: WorkerInfo = field(default_factory=WorkerInfo)
