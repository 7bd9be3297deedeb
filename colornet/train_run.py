"""Starting or resuming a run: the state a run starts with (a resumed run's state.json, checked
against this run's settings), the checkpoint's weights and optimizer state restored, the `--init`
weights loaded, and the prior of a bin head kept in the run folder."""

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from colornet.errors import RunError
from colornet.models import Design
from colornet.run_dir import damaged
from colornet.train_config import TrainConfig
from colornet.weights import load_weights, read_config, transfer_weights, weights_file


def start_state(
    cfg: TrainConfig, design: Design, out_dir: Path, previous: dict | None, trained_on: str
) -> tuple[dict, str]:
    """The state a run starts with (saved as state.json after each epoch), or, for a resumed run,
    `previous` checked against this run's settings; and a note when the learning rate changes.
    `trained_on`: the fingerprint of the run's photos (`train_data.photos_digest`).

    Raises:
        RunError: a resumed run of another model, options, size, loss or photos (it is left as it is).
    """
    state = {
        "model": cfg.model,
        "options": cfg.model_options,
        "size": cfg.size,
        "epoch": 0,
        "init": cfg.init,
        "lr": cfg.lr,
        "loss": cfg.loss,
        "data": cfg.data,
        "data_weights": cfg.data_weights,
        "photos": trained_on,
    }
    lr_note = ""
    if previous is not None:
        state = previous
        # options added to a design after the run started take their default there
        recorded = design.complete_options(state.get("options", {}))
        if state["model"] != cfg.model or recorded != cfg.model_options:
            differ = [k for k in cfg.model_options if recorded.get(k) != cfg.model_options[k]]
            what = (
                f" ({', '.join(f'{k}={recorded.get(k)!r}, not {cfg.model_options[k]!r}' for k in differ)})"
                if state["model"] == cfg.model and differ
                else ""
            )
            raise RunError(
                f"{out_dir}: holds a {state['model']!r} run with options {recorded}{what}; "
                "use another --out for a different model."
            )
        if state.get("size") != cfg.size:
            raise RunError(
                f"{out_dir}: that run trains at --size {state.get('size')}; use it or another --out."
            )
        if "loss" in state and state["loss"] != cfg.loss:
            raise RunError(
                f"{out_dir}: that run trains with --loss {state['loss'] or 'default (the model' + chr(39) + 's)'}; "
                "use it or another --out (a loss of another kind makes its best checkpoint meaningless)."
            )
        if state.get("photos", trained_on) != trained_on:
            raise RunError(
                f"{out_dir}: that run trained on other photos ({state.get('data')}); use the same --data "
                "and --val, or another --out to start a new run."
            )
        if state.get("lr") is not None and state["lr"] != cfg.lr:
            lr_note = f"; learning rate {cfg.lr} from now on (was {state['lr']})"
        state.update(lr=cfg.lr, photos=trained_on, data=cfg.data)
    return state, lr_note


PRIOR_FILE = "prior.npy"  # a bin head's prior, in the run folder


def run_prior(cfg: TrainConfig, out_dir: Path, train_paths: list[str], write: bool = True):
    """The prior over the ab bins of a run with a bin head, and where it came from: `--prior`,
    the run's own `prior.npy` (a resumed run), or computed from the training photos. It is kept
    in the run folder (`write`), so that a run resumes, and its weights are fine-tuned, with it.

    Raises:
        RunError: a resumed run given another prior than the one it trained with.
    """
    from colornet.prior import compute_prior, load_prior, save_prior

    kept = out_dir / PRIOR_FILE
    if cfg.prior is not None:
        prior = load_prior(cfg.prior)
        if kept.exists() and not np.allclose(load_prior(kept), prior, rtol=1e-6, atol=1e-9):
            raise RunError(
                f"{out_dir}: that run trains with the prior in {kept}, not {cfg.prior}; "
                "leave --prior out or use another --out."
            )
        source = str(cfg.prior)
    elif kept.exists():
        prior, source = load_prior(kept), str(kept)
    else:
        print(f"Computing the prior over the ab bins from {len(train_paths)} training photos...")
        prior = compute_prior(None, size=cfg.size, paths=train_paths)
        source = f"computed from the {len(train_paths)} training photos"
    if write:
        save_prior(kept, prior)
    return prior, source


def _optimizer_variables(optimizer):
    inner = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer (float16)
    return inner.variables


def model_optimizers(model: keras.Model):
    """`[(optimizer, variables it trains)]`: one for a model trained by `fit`'s own step, one
    per network for a trainer with its own (a GAN's `optimizers_and_variables`)."""
    if hasattr(model, "optimizers_and_variables"):
        return model.optimizers_and_variables()
    return [(model.optimizer, model.trainable_variables)]


def restore_checkpoint(trainer: keras.Model, path: Path) -> None:
    """Copy the weights and optimizer state of the checkpoint `path` into `trainer`, which was built
    and compiled for this run's precision and strategy (the checkpoint may come from others)."""
    try:
        saved = keras.models.load_model(path, compile=True)
    except (ValueError, OSError, KeyError, TypeError) as err:  # checked before, changed since, or unreadable
        raise damaged(path, err) from None
    trainer.set_weights(saved.get_weights())
    for (saved_opt, _), (opt, variables) in zip(model_optimizers(saved), model_optimizers(trainer)):
        source = _optimizer_variables(saved_opt) if saved_opt is not None else []
        opt.build(variables)
        target = _optimizer_variables(opt)
        if len(source) != len(target) or any(s.shape != t.shape for s, t in zip(source, target)):
            raise RunError(f"{path}: its optimizer state does not fit this model; use another --out.")
        for s, t in zip(source, target):
            t.assign(tf.cast(s.value, t.dtype))


def check_init(cfg: TrainConfig) -> None:
    """Weights to start from must come from a network of this run's shape and color space:
    `--init` weights of a Lab U-Net would load into a YCrCb one, and mean nothing there."""
    cfg.init = weights_file(cfg.init)  # a run folder: its best weights
    recorded = (read_config(cfg.init) or {}).get("options", {})
    for name in ("color_space", "depth"):
        theirs, ours = recorded.get(name), cfg.model_options.get(name)
        if theirs is not None and ours is not None and theirs != ours:
            flag = "--" + name.replace("_", "-")
            raise RunError(
                f"{cfg.init}: trained with {name} {theirs}, this run has {ours}; "
                f"add {flag} {theirs} or start without --init."
            )


def load_init(net: keras.Model, cfg: TrainConfig, design: Design) -> None:
    """Load the `--init` weights into `net`. Weights of the same network built without hint
    channels go into all but its hint branches, which start at zero (it colors as they did)."""
    recorded = (read_config(cfg.init) or {}).get("options", {})
    if cfg.model_options.get("hints") and not recorded.get("hints"):
        twin = design.build(**{**cfg.model_options, "hints": False})
        load_weights(twin, cfg.init, design.name)
        copied = transfer_weights(twin, net)
        print(f"Started from {cfg.init} ({copied} weights); its hint branches start at zero.")
        return
    if recorded.get("hints") and not cfg.model_options.get("hints"):
        raise RunError(f"{cfg.init}: trained with hint channels; add --hints or start without --init.")
    load_weights(net, cfg.init, design.name)
