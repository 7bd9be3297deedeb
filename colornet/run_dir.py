"""A training run's folder (`train --out`): the run to resume there, if any, checked before any
work. A folder that holds a run's work but cannot be resumed (no last.keras, a damaged
checkpoint or state.json) is refused in one line, never trained over."""

import json
import zipfile
from pathlib import Path

from colornet.errors import RunError
from colornet.signals import remove_stale_temporaries

STATE, LAST, BEST, HISTORY = "state.json", "last.keras", "best.weights.h5", "history.csv"

# state.json's entries that a resumed run reads, and their types (model and epoch must be there)
STATE_TYPES = {"model": str, "epoch": int, "size": int, "options": dict, "history": dict}
STATE_NUMBERS = ("best", "seconds", "lr")


def cannot_resume(out_dir, why: str) -> RunError:
    """The one-line refusal of a run folder that cannot be resumed, saying how to keep its work."""
    out_dir = Path(out_dir)
    keep = "choose another --out"
    if (out_dir / BEST).is_file():
        keep = f"train with --init {out_dir} --out NEW_FOLDER to go on from its best weights, or {keep}"
    return RunError(f"{why}, so the run cannot be resumed; {keep} (or delete {out_dir} to start over).")


def damaged(path, err) -> RunError:
    """A checkpoint that cannot be read, `err` saying why (its first line)."""
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
    return cannot_resume(Path(path).parent, f"{path}: is damaged ({reason})")


def _finished_epochs(out_dir: Path) -> bool:
    """Whether the folder holds the work of finished epochs: best weights or rows of history."""
    if (out_dir / BEST).is_file():
        return True
    try:
        with open(out_dir / HISTORY) as f:
            return sum(1 for line in f if line.strip()) > 1  # a header and a row
    except (OSError, UnicodeDecodeError):
        return False


def read_state(path) -> dict:
    """state.json, checked: a JSON object with the run's model and epochs finished, and the
    other entries a resumed run reads of the right types.

    Raises:
        RunError: unreadable, not JSON, or not what training writes.
    """
    path = Path(path)
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as err:
        raise cannot_resume(path.parent, f"{path}: is damaged ({err})") from None
    except ValueError as err:
        raise cannot_resume(path.parent, f"{path}: is damaged (not JSON: {err})") from None
    if not isinstance(state, dict):
        raise cannot_resume(path.parent, f"{path}: is damaged (not a JSON object but {type(state).__name__})")
    for name, kind in STATE_TYPES.items():
        value = state.get(name)
        if name in ("model", "epoch") and value is None:
            raise cannot_resume(path.parent, f"{path}: is damaged (no {name!r} entry)")
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise cannot_resume(path.parent, f"{path}: is damaged ({name!r} is {value!r})")
    bad = [n for n in STATE_NUMBERS if state.get(n) is not None and not isinstance(state[n], (int, float))]
    if state["epoch"] < 0 or bad:
        what = f"{bad[0]!r} is {state[bad[0]]!r}" if bad else f"'epoch' is {state['epoch']}"
        raise cannot_resume(path.parent, f"{path}: is damaged ({what})")
    return state


def _layers(config):
    """Every layer's `class_name` in a Keras model's config, however deeply nested."""
    if isinstance(config, dict):
        if "class_name" in config:
            yield config["class_name"]
        for value in config.values():
            yield from _layers(value)
    elif isinstance(config, list):
        for value in config:
            yield from _layers(value)


def check_checkpoint(path) -> None:
    """A `.keras` checkpoint that can be loaded: a whole zip file with a model description, and no
    Lambda layer (Python code, which is never run from a file).

    Raises:
        RunError: a damaged file (empty, truncated), or one with a Lambda layer.
    """
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if "config.json" not in archive.namelist():
                raise ValueError("no model in it")
            config = json.loads(archive.read("config.json"))
    except (OSError, ValueError, zipfile.BadZipFile, RuntimeError) as err:
        raise damaged(path, err) from None
    if "Lambda" in set(_layers(config)):
        raise cannot_resume(
            path.parent,
            f"{path}: holds a Lambda layer, Python code that colornet never runs from a file",
        )


def open_run(out_dir) -> dict | None:
    """The state of the run to resume in `out_dir`, or None when there is none (a new run starts
    there: no folder, an empty one, or a run that never finished an epoch).

    Raises:
        RunError: the folder holds a run's work that cannot be resumed: no last.keras (deleted,
            or the disk filled while writing it), no state.json, or either damaged.
    """
    out_dir = Path(out_dir)
    state_path, last = out_dir / STATE, out_dir / LAST
    if not state_path.exists() and not last.exists():
        if _finished_epochs(out_dir):
            raise cannot_resume(out_dir, f"{out_dir}: holds a run's {BEST} or {HISTORY} but no {LAST}")
        return None
    state = read_state(state_path) if state_path.exists() else None
    if not last.exists():
        if state["epoch"] == 0 and not _finished_epochs(out_dir):
            return None  # it stopped in its first epoch (diverged): nothing to keep
        raise cannot_resume(
            out_dir, f"{out_dir}: has no {LAST} (deleted, or the disk filled while writing it)"
        )
    if state is None:
        raise cannot_resume(out_dir, f"{out_dir}: has {LAST} but no {STATE} with its epochs")
    check_checkpoint(last)
    return state


def remove_leftovers(out_dir) -> list[Path]:
    """The temporary files that runs killed with kill -9 left in the run folder, its sample strips
    and its embeddings cache, removed (those of running processes are kept)."""
    out_dir = Path(out_dir)
    return [
        *remove_stale_temporaries(out_dir),
        *remove_stale_temporaries(out_dir / "samples"),
        *remove_stale_temporaries(out_dir / "embeddings", recursive=True),
    ]
