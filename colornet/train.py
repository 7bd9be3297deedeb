"""Training: `python -m colornet train MODEL --data DIR`, and `train(...)` for the notebooks.

A run directory (`--out`, default `runs/MODEL`) holds everything about a run:

    last.keras          model + optimizer state after the last finished epoch
    state.json          model name and options, precision, strategy, epochs finished, best validation loss
    best.weights.h5     weights with the lowest validation loss (+ best.json: model, options, size)
    averaged.weights.h5 with --average-epochs K: the mean of the last K epochs' weights (+ averaged.json)
    history.csv         one row per epoch (CSVLogger)
    logs/               TensorBoard
    samples/epoch_NNN.png   gray | colorized | truth for fixed validation photos

Running the same command again resumes after the last finished epoch, also
after Ctrl-C or kill -9 (checkpoints are written atomically), also with another
`--precision` or `--strategy` (weights are float32 under every precision). `--init`
starts a new run from existing weights, to fine-tune on your own folder.

Everything about a model comes from its design (`colornet.models.spec.Design`): the
builder, the codec that turns Lab photos into inputs and targets, the loss, the size
multiple, the extra inputs. Training runs under a Keras precision policy
(`colornet.precision`) and a `tf.distribute` strategy (`colornet.distribute`).

This module holds `train()`; the rest is in `train_config` (the settings), `train_data` (photos,
datasets, memory), `train_run` (starting or resuming a run) and `train_callbacks` (what each epoch
writes); the command, its flags and its `run`, is `colornet.cli.train`.
"""

import math
import time
from pathlib import Path

import keras
import tensorflow as tf

from colornet import data as cdata
from colornet.distribute import choose_strategy, will_be_chief, worker_info
from colornet.errors import ColornetError, ImageError, RunError
from colornet.files import atomic_write_json
from colornet.losses import get_loss
from colornet.models import Design, get_design
from colornet.precision import choose_precision, precision_scope
from colornet.predict import Colorizer
from colornet.run_dir import open_run, remove_leftovers
from colornet.train_args import check_arguments, check_config, make_config

# names marked F401 are not used here: they stay importable from `colornet.train`, as before
from colornet.train_callbacks import (
    AVERAGED,
    FiniteCSVLogger,  # noqa: F401
    RunCheckpoint,  # noqa: F401
    SampleStrips,
    make_callbacks,
)
from colornet.train_config import DEFAULT_LR, TrainConfig, TrainResult
from colornet.train_data import (
    ACTIVATION_FLOATS,  # noqa: F401
    MAX_CLASSES,  # noqa: F401
    available_memory,  # looked up in this module when train() runs: it can be replaced here
    check_memory,
    class_names,
    list_run_photos,
    make_datasets,
    make_features,
    memory_needed,  # noqa: F401
    photos_digest,
    run_images,  # noqa: F401
    source_indices,  # noqa: F401
)
from colornet.train_run import (
    PRIOR_FILE,
    check_init,
    load_init,
    model_optimizers,
    restore_checkpoint,
    run_prior,
    start_state,
)
from colornet.train_run import restore_checkpoint as _restore  # noqa: F401  (its earlier name)
from colornet.weights import save_config

__all__ = ["RunError", "TrainConfig", "TrainResult", "train"]


def _diverged(history: dict) -> bool:
    return any(not math.isfinite(float(v)) for values in history.values() for v in values)


def _image_error_in(err) -> str | None:
    """The one-line message of an `ImageError` raised while the pipeline read a photo, if `err` is one."""
    for line in str(err).splitlines():
        if "ImageError: " in line:
            return line.split("ImageError: ", 1)[1].strip()
    return None


def _build_on_a_local_batch(trainer: keras.Model, strategy, batch) -> None:
    """Build the compiled model's state from one local batch before `fit`.

    Keras 3 builds it on fit's first batch averaged over the replicas (`strategy.reduce`),
    which MultiWorkerMirroredStrategy cannot do outside a step (keras-team/keras#20585);
    only the batch's shapes matter, so this worker's own batch does."""
    if not hasattr(trainer, "_symbolic_build"):  # another Keras: it builds as it knows
        return
    with strategy.scope():
        trainer._symbolic_build(data_batch=batch)
    trainer._maybe_symbolic_build = lambda iterator=None, data_batch=None: None


def _describe_model(model: keras.Model, design: Design, options: dict) -> None:
    """Check that a model given to `train` is what `design.build(**options)` makes (so that its
    best.weights.h5 can be loaded again from its JSON)."""
    reference = design.build(**options)
    shapes = [tuple(w.shape) for w in model.weights]
    if shapes != [tuple(w.shape) for w in reference.weights]:
        raise RunError(
            f"the model given to train() is not what {design.name} builds with options {options}; "
            f"pass model_options that build it (e.g. model_options={{'width': 0.5}})."
        )


def train(model="beta", data: str = "data/Train", *, embedder=None, design: str | None = None, **kwargs):
    """Train a model on a folder of photos, resuming the run in `out` if there is one.

    Args:
        model: a design name ("alpha", "beta", "full", ...), or a `keras.Model` built by a
            design's builder (then `model_options` must be the options it was built with).
        data: folder (searched recursively), file or glob of training photos.
        embedder: for designs with extra inputs (full): the feature extractor to share with
            other code (default: one built from `embed_weights`).
        design: with a `keras.Model`: its design (default: the model's name).
        **kwargs: any `TrainConfig` field (val, size, epochs, batch_size, init, out, seed,
            precision, strategy, ...).

    Returns:
        A `TrainResult` with the trained model, its `colorizer`, the history and the run directory.

    Raises:
        ColornetError: a bad argument (named, in one line, as the command line names it), or a run
            in `out` that cannot be resumed (`RunError`: it is left as it is).

    Example:
        >>> result = train("beta", data="data/Train", size=64, epochs=2, out="runs/try")
        >>> result.history["val_loss"]
    """
    built = model if isinstance(model, keras.Model) else None
    design = get_design(design or (built.name if built is not None else model))
    data = data if isinstance(data, (list, tuple)) else str(data)
    cfg = make_config(TrainConfig, model=design.name, data=data, **kwargs)
    check_arguments(cfg)
    if cfg.lr is None:
        cfg.lr = design.lr or DEFAULT_LR
    if design.options_for_size is not None:  # e.g. a U-Net as deep as the crop size allows
        try:
            cfg.model_options = design.options_for_size(cfg.model_options, cfg.size)
        except ValueError as err:
            raise ColornetError(str(err)) from None
    check_config(cfg, design, DEFAULT_LR)
    out_dir = Path(cfg.out or f"runs/{cfg.model}")
    cfg.out = str(out_dir)
    if will_be_chief(cfg.strategy):  # a cluster's other tasks leave the chief's files alone
        remove_leftovers(out_dir)
    previous = open_run(out_dir)  # a run there that cannot be resumed is refused before any work
    train_paths, val_paths = list_run_photos(cfg)
    classes = None
    if design.labels:
        classes = class_names(cfg, train_paths) if cfg.classes == "auto" else None
        cfg.model_options = {**cfg.model_options, "n_classes": len(classes or [])}
    if "train_encoder" in design.options and cfg.encoder_weights in (None, "none") and not cfg.init:
        # a random encoder that stayed frozen would never learn anything
        cfg.model_options = {**cfg.model_options, "train_encoder": True}
    if embedder is not None and "embedder" in design.feature_options:  # full: the Embedder given names it
        from colornet.models.fusion import options_for_embedder

        try:
            cfg.model_options = options_for_embedder(cfg.model_options, embedder)
        except ValueError as err:
            raise ColornetError(str(err)) from None
    cfg.model_options = design.complete_options(cfg.model_options)
    strategy = choose_strategy(cfg.strategy, timeout=cfg.connect_timeout)
    worker = worker_info(strategy)
    if built is not None:
        if worker.replicas > 1:
            raise RunError(
                f"a built model cannot be trained under --strategy {cfg.strategy}; pass the design's "
                f"name ({design.name!r}) so that it is built in the strategy's scope."
            )
        _describe_model(built, design, cfg.model_options)
        policy, reason = built.dtype_policy.name, "the given model's"
    else:
        policy, reason = choose_precision(cfg.precision)
    # after the strategy: devices are known
    check_memory(cfg, len(train_paths) + len(val_paths), available_memory())
    if worker.is_chief:
        out_dir.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(cfg.seed)

    state_path = out_dir / "state.json"
    resumed = previous is not None
    trained_on = photos_digest(train_paths, val_paths)
    state, lr_note = start_state(cfg, design, out_dir, previous, trained_on)
    global_batch = cfg.batch_size * worker.replicas
    state.update(
        precision=policy, strategy=worker.kind, replicas=worker.replicas, workers=worker.workers,
        global_batch_size=global_batch,
    )  # fmt: skip

    codec = design.make_codec(cfg.model_options)
    if codec.uses_prior:  # a bin head: rebalancing weights from the prior over the bins
        prior, source = run_prior(cfg, out_dir, train_paths, write=worker.is_chief)
        state.setdefault("prior", source)  # a resumed run keeps where its prior came from
        codec = codec.with_prior(prior)
    loss, loss_weights = design.make_loss(cfg.model_options, cfg.loss)
    loss = {k: get_loss(v) for k, v in loss.items()} if isinstance(loss, dict) else get_loss(loss)
    jit_compile = cfg.jit_compile
    if jit_compile == "auto" and policy == "mixed_bfloat16" and not tf.config.list_physical_devices("GPU"):
        from colornet.precision import bf16_wants_xla

        # bfloat16 steps ran faster with XLA on one CPU and slower on another (bench/train_step.py):
        # follow this CPU's matmul; float32 steps on CPUs were slower with XLA on both
        jit_compile = bf16_wants_xla()
    pretrained_note = None
    with strategy.scope(), precision_scope(policy):
        net = built if built is not None else design.build(**cfg.model_options)
        trainer = design.training_model(net, cfg.model_options, codec) if design.training_model else net
        trainer.compile(
            optimizer=keras.optimizers.Adam(cfg.lr),
            loss=loss,
            loss_weights=loss_weights,
            jit_compile=jit_compile,
        )
        if resumed:
            restore_checkpoint(trainer, out_dir / "last.keras")
            if lr_note:  # the checkpoint's optimizer state brought the old learning rate back
                for optimizer, _ in model_optimizers(trainer):
                    optimizer.learning_rate = cfg.lr
        elif cfg.init:
            check_init(cfg)
            load_init(net, cfg, design)
        elif design.load_pretrained is not None:
            weights = None if cfg.encoder_weights in (None, "none") else cfg.encoder_weights
            pretrained_note = design.load_pretrained(net, weights)
    with precision_scope("float32"):
        export = design.build(**cfg.model_options)  # best.weights.h5 is written from this float32 twin
    initial_epoch = int(state["epoch"])
    if resumed:
        note = "; --init is ignored for a resumed run" if cfg.init else ""
        print(f"Resuming {out_dir} after epoch {initial_epoch} of {cfg.epochs}{lr_note}{note}.")
    if worker.is_chief:
        extra = {"classes": classes} if classes else {}
        if "prior" in state:
            extra["prior"] = PRIOR_FILE  # beside the weights
        save_config(out_dir / "best.weights.h5", cfg.model, cfg.model_options, size=cfg.size, **extra)

    features = make_features(design, cfg, embedder)
    train_ds, val_ds, train_paths, val_paths = make_datasets(
        cfg, design, features, worker, (train_paths, val_paths), classes, codec
    )
    steps, val_steps = cfg.steps_per_epoch, None
    if worker.replicas > 1:
        local = worker.replicas // worker.workers  # replicas on this worker
        per_worker = len(train_paths) // worker.workers
        steps = steps or max(1, per_worker // (cfg.batch_size * local))
        val_steps = max(1, math.ceil(len(val_paths) / worker.workers / (cfg.batch_size * local)))
        if worker.kind == "multiworker":
            _build_on_a_local_batch(trainer, strategy, next(iter(train_ds)))
        train_ds = strategy.distribute_datasets_from_function(lambda ctx: train_ds)
        val_ds = strategy.distribute_datasets_from_function(lambda ctx: val_ds)
    colorizer = Colorizer(
        model=net,
        design=design,
        training_size=cfg.size,
        features=features,
        source=str(out_dir),
        options=cfg.model_options,
        classes=classes,
        prior=codec.prior if codec.uses_prior else None,
    )
    samples = None
    if worker.is_chief and cfg.samples > 0:
        lab, _ = next(
            iter(cdata.make_lab_dataset(None, cfg.size, cfg.samples, training=False, paths=val_paths))
        )
        samples = SampleStrips(colorizer, lab, out_dir / "samples")

    epochs_run = max(0, cfg.epochs - initial_epoch)
    if epochs_run:
        mine = len(train_paths[worker.index :: worker.workers])
        shard = f" (worker {worker.index} of {worker.workers} reads {mine})" if worker.workers > 1 else ""
        print(
            f"Training {cfg.model} on {len(train_paths)} photos{shard}, validating on {len(val_paths)}, "
            f"{cfg.size}x{cfg.size}; precision {policy} ({reason}); strategy {worker.kind}, "
            f"{worker.replicas} replica(s) x batch {cfg.batch_size} = global batch {global_batch}"
            + (f"; {pretrained_note}." if pretrained_note else ".")
        )
        start = time.time()
        state.pop("diverged_epoch", None)
        callbacks = make_callbacks(cfg, out_dir, state, resumed, worker, net, export, samples)
        try:
            fitted = trainer.fit(
                train_ds,
                validation_data=val_ds,
                epochs=cfg.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps,
                validation_steps=val_steps,
                callbacks=callbacks,
                verbose=cfg.verbose if worker.is_chief else 0,
                shuffle=False,  # the dataset shuffles itself
            )
        except (tf.errors.InvalidArgumentError, tf.errors.UnknownError) as err:
            bad_photo = _image_error_in(err)
            if bad_photo is None:
                raise
            raise ImageError(f"{bad_photo} (training stopped; the last finished epoch is kept)") from None
        finally:
            for callback in callbacks:  # fit leaves history.csv open when it raises
                csv_file = getattr(callback, "csv_file", None)
                if csv_file is not None and not csv_file.closed:
                    csv_file.close()
        diverged = state.pop("diverged_epoch", None) or (
            _diverged(fitted.history) and int(state.get("epoch", initial_epoch)) + 1
        )
        state["seconds"] = state.get("seconds", 0.0) + time.time() - start
        if worker.is_chief:
            atomic_write_json(state_path, state)
        else:  # the chief keeps the history on disk; the others report what they ran
            state["history"] = {k: [float(v) for v in vs] for k, vs in fitted.history.items()}
        if diverged:
            done = int(state.get("epoch", initial_epoch))
            kept = (
                f"the checkpoint of epoch {done} is kept (best: {out_dir / 'best.weights.h5'})"
                if (out_dir / "best.weights.h5").exists()
                else "no checkpoint was written"
            )
            raise RunError(
                f"{out_dir}: the loss became NaN or infinite in epoch {diverged}; {kept}; "
                f"run again with a lower --lr (now {cfg.lr})."
            )
    else:
        print(
            f"{out_dir}: already trained for {state['epoch']} epochs; to train more, ask for more epochs "
            "(--epochs on the command line, EPOCHS in the notebooks)."
        )
    return TrainResult(
        model=net,
        history=state.get("history", {}),
        out_dir=out_dir,
        best_weights=out_dir / "best.weights.h5",
        averaged_weights=out_dir / AVERAGED if (out_dir / AVERAGED).exists() else None,
        epochs_run=epochs_run,
        colorizer=colorizer,
        precision=policy,
        worker=worker,
    )
