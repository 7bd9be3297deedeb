"""The files a `colorize` run reads and writes: one `Job` per photo, its output names, the run's
`Summary`, and the `--compare` strips (gray | colorized | original).

>>> jobs, failures = plan_jobs(["data/Test"], "results", compare=True)
>>> jobs[0].outputs  # its output and its compare strip: results/<stem>.png, results/<stem>_compare.png
"""

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from colornet.color import rgb_to_gray, to_uint8
from colornet.errors import ColornetError
from colornet.images import FORMATS, Photo, find_images

COMPARE_SIDE = 1024  # longer side of each panel of a --compare strip, at most


@dataclass
class Job:
    """One input file and the files it becomes."""

    source: str
    output: str
    compare: str | None = None

    @property
    def outputs(self) -> list[str]:
        return [p for p in (self.output, self.compare) if p]


@dataclass
class Summary:
    """What `colorize_files` did."""

    out_dir: str
    written: list = field(default_factory=list)  # output files written
    colorized: list = field(default_factory=list)  # inputs colorized
    skipped: list = field(default_factory=list)  # inputs whose outputs already existed
    failed: list = field(default_factory=list)  # one-line messages, each naming its file
    scenes: dict = field(default_factory=dict)  # input -> {"class", "probability"} (designs that classify)
    model: str = ""  # the design that colorized them
    decoding: dict = field(default_factory=dict)  # {"temperature": T, "undo_rebalancing": S} for ab bins
    notes: list = field(default_factory=list)  # one-line notes (an option that does not apply)

    def scene_report(self) -> str:
        """One line per photo: the scene class the network recognized, with its probability."""
        return "\n".join(
            f"{path}: {scene['class']} ({scene['probability']:.0%})" for path, scene in self.scenes.items()
        )

    def report(self) -> str:
        how = ", ".join(
            [self.model] * bool(self.model)
            + [f"{k.replace('_', ' ')} {v:g}" for k, v in self.decoding.items()]
        )
        how = how if self.decoding else ""  # how colors were decoded, where there is a choice
        lines = [
            *self.notes,
            f"{len(self.colorized)} colorized into {self.out_dir}, {len(self.failed)} failed.",
        ]
        if how:
            lines[-1] = lines[-1][:-1] + f" ({how})."

        if self.skipped:
            lines.append(
                f"{len(self.skipped)} skipped: their outputs already exist (--overwrite replaces them)."
            )
        lines += [f"  failed: {message}" for message in self.failed]
        return "\n".join(lines)


def output_stems(rel: Path):
    """The names an input `rel` (`sub/cat.jpg`) may give its outputs, in order of preference, made one
    at a time as they are needed: `sub/cat`, `sub/cat_jpg`, `sub/cat_2`, `sub/cat_3`, ..."""
    yield rel.parent / rel.stem
    yield rel.parent / f"{rel.stem}_{rel.suffix.lstrip('.').lower()}"
    for i in itertools.count(2):
        yield rel.parent / f"{rel.stem}_{i}"


def plan_jobs(inputs, out_dir, image_format: str = "png", compare: bool = False):
    """Files, folders (recursive) and globs -> (jobs, failures).

    Outputs are named after their input (`<stem>.png`); a folder's subfolders
    are mirrored under `out_dir`. An input that matches nothing is a failure,
    not the end of the run. An output that would replace an input is refused.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    check_out_dir(out_dir)
    jobs, failures, taken, seen = [], [], set(), set()
    sources = []
    results = os.path.realpath(out_dir)
    for item in inputs:
        item = str(item)
        if os.path.isdir(item) and os.path.realpath(item) == results:
            raise ColornetError(
                f"--out {out_dir}: is the input folder {item}, so every run would colorize the last one's "
                "results again; choose another --out folder."
            )
        try:
            paths = find_images(item)
        except FileNotFoundError as err:
            failures.append(f"{err} Check the path.")
            continue
        if not os.path.isfile(item):
            # --out inside a folder or glob input: earlier results there are not inputs
            found = paths
            paths = [p for p in paths if not os.path.realpath(p).startswith(os.path.join(results, ""))]
            if found and not paths:
                failures.append(
                    f"{item}: the {len(found)} photo(s) found there are all in the --out folder {out_dir}, "
                    "whose results are never colorized again; choose another --out folder."
                )
                continue
        if not paths:
            failures.append(f"{item}: no images ({FORMATS}) found; check the path.")
        for path in paths:
            if os.path.realpath(path) in seen:
                continue
            seen.add(os.path.realpath(path))
            rel = Path(os.path.relpath(path, item)) if os.path.isdir(item) else Path(Path(path).name)
            sources.append((path, rel))

    def outputs_of(stem):
        names = [f"{stem}.{image_format}"] + ([f"{stem}_compare.png"] if compare else [])
        return [Path(out_dir) / n for n in names]

    for path, rel in sources:
        # no two outputs share a name (cat.jpg and cat.png; cat.jpg's cat_compare.png and a
        # cat_compare.png), also on file systems that ignore case
        stem = next(c for c in output_stems(rel) if not {str(p).lower() for p in outputs_of(c)} & taken)
        taken.update(str(p).lower() for p in outputs_of(stem))
        output, *rest = outputs_of(stem)
        job = Job(source=path, output=str(output), compare=str(rest[0]) if rest else None)
        clash = [p for p in job.outputs if os.path.realpath(p) in seen]
        if clash:
            failures.append(
                f"{path}: its output {clash[0]} would replace an input; choose another --out folder."
            )
            continue
        jobs.append(job)
    return jobs, failures


def check_out_dir(out_dir) -> None:
    """Refuse an empty output folder name (`--out ""` would write into the current folder)."""
    if out_dir is None or not str(out_dir).strip():
        raise ColornetError("--out is empty; name an output folder, e.g. --out results.")


def _fit(rgb_uint8, side: int = COMPARE_SIDE) -> Image.Image:
    im = Image.fromarray(rgb_uint8)
    scale = side / max(im.size)
    if scale < 1:
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.LANCZOS)
    return im


def compare_strip(photo: Photo, colorized) -> np.ndarray:
    """uint8 strip gray | colorized | original (the original only when it had color).

    Args:
        photo: the input.
        colorized: uint8 RGB `(h, w, 3)`, the result.
    """
    original = _fit(to_uint8(photo.rgb))
    panels = [np.asarray(original, np.float32) / 255.0]
    gray = panels[0] if photo.is_gray else np.asarray(rgb_to_gray(panels[0]))
    panels = [gray, np.asarray(_fit(colorized), np.float32) / 255.0]
    if not photo.is_gray:
        panels.append(np.asarray(original, np.float32) / 255.0)
    gap = np.ones((panels[0].shape[0], 4, 3), np.float32)  # white separators
    strip = [panels[0]]
    for panel in panels[1:]:
        strip += [gap, panel]
    return to_uint8(np.concatenate(strip, axis=1))
