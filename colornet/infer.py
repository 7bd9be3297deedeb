"""Colorize photos of any size: `python -m colornet colorize`, and `colorize(...)` for the notebooks.

One photo goes through these steps (`colornet.predict` and `colornet.fullres`); only
the small working canvas goes through the network, everything at full resolution is
done in strips of rows:

    L = rgb_to_lab(photo)[..., 0]        full resolution, never resized       (H, W)
    l_work = resize(L, (h, w))           longer side <= work_size, aspect kept (h, w)
    canvas = pad(l_work)                 reflect-padded to the design's multiple
    ab = decode(model(encode(canvas)))   predicted at the working resolution   (h, w, 2)
    ab_full = bilinear(ab, (H, W))       upsampled smoothly                     (H, W, 2)
    rgb = lab_to_rgb(L, ab_full)         chroma reduced where a color would leave
                                         the sRGB gamut, so the output keeps L  (H, W, 3)

>>> rgb = colorize("old_photo.jpg")                     # float RGB (h, w, 3) in [0, 1]
>>> summary = colorize_files(["data/Test"], "results")  # writes results/*.png

Files, folders and globs (`colorize_files`, importable from here) stream through `colornet.infer_files`;
the files a run reads and writes, their names, its summary and the compare strips are in
`colornet.infer_jobs`; the command, `python -m colornet colorize`, is `colornet.cli.colorize`.
"""

import sys

import numpy as np

from colornet.hints import hint_map
from colornet.images import as_photo
from colornet.infer_files import colorize_files  # noqa: F401  (importable from here)
from colornet.infer_jobs import (  # noqa: F401  (Job, _fit, ...: kept importable from here)
    COMPARE_SIDE,
    Job,
    Summary,
    _fit,
    check_out_dir,
    compare_strip,
    plan_jobs,
)
from colornet.inference_options import InferenceOptions, merge_options
from colornet.predict import (  # noqa: F401  (working_shape, load_colorizer, ...: kept importable from here)
    WORK_SIZE,
    Colorizer,
    Prepared,
    check_work_size,
    choose_model,
    finish,
    load_colorizer,
    prepare_for,
    scene_class,
    style_lightness,
    working_shape,
)
from colornet.weights import WEIGHTS_DIR


def colorize(
    image,
    model=None,
    *,
    work_size: int | None = None,
    weights_dir=WEIGHTS_DIR,
    embedder=None,
    style=None,
    explain: bool = False,
    temperature: float | None = None,
    undo_rebalancing: float | None = None,
    hints=None,
    precision: str | None = None,
    options: InferenceOptions | None = None,
):
    """Colorize one photo at its full resolution.

    The output keeps the photo's lightness (CIE L) pixel for pixel; only the
    colors (a, b) are predicted, at a working resolution whose longer side is
    `work_size`, and upsampled. Color photos are desaturated first.

    Args:
        image: a path, a `colornet.images.Photo`, or an array: uint8, uint16 or
            float in [0, 1]; `(h, w)`, `(h, w, 3)` or `(h, w, 4)` with alpha.
        model: a `Colorizer` (see `colornet.load_colorizer`: load once for many photos),
            `alpha`, `beta`, `full` (provided weights in `weights_dir`), a weights path
            with its `.json` beside it, or a `keras.Model` of a registered design; None: the
            default model (`features`), or with `hints` its network with hint channels
            (`features-hints`).
        work_size: longer side of the working resolution, in pixels; by default
            the size the model was trained at.
        weights_dir: where provided weights are looked up by name.
        embedder: for the Full model, its `colornet.embed.Embedder`; by default
            one with ImageNet weights, built on first use.
        style: for designs with a global path (`iizuka`): another photo (path, `Photo` or
            array) whose global features color this one; only its lightness is used.
        explain: also return what the network recognized (see Returns).
        temperature: for networks over ab bins (`zhang`, `beta --head bins`): the annealed
            mean's temperature, from 1 (the mean of the predicted colors: safe, sepia) toward 0
            (the most probable color: vivid, blotchy); default 0.38, the paper's. Other
            networks ignore it with a note on stderr.
        undo_rebalancing: for networks over ab bins whose prior is known: the share (0 to 1)
            of the class rebalancing taken back before the annealed mean
            (`colornet.bins.undo_rebalancing`); default 0, the paper's decoding.
        hints: colors a person wants where they are (Zhang et al. 2017; networks built with
            hints): a list of `(x, y, color)` in the photo's own pixels, color as `(r, g, b)`
            0-255, `"#2e7d32"` or a color name, each made the photo's lightness at that point
            (`colornet.hints.ab_under`); a scribble image of the photo's size (RGBA array or
            PIL image) whose non-transparent pixels are hints; or a JSON or PNG file of either.
            The network spreads each hint along the photo's edges and colors the rest itself.
        precision: the network's precision: `float32` (the same colors on every machine),
            `mixed_bfloat16`, `mixed_float16`, or `auto`: mixed_float16 on a GPU, mixed_bfloat16 on
            a CPU with bfloat16 units where it measures 1.2x faster for this model and its colors
            stay within 1 level of 255 of float32's on average, else float32 (decided once per
            model and working size, in a few seconds; `colornet.load_colorizer`). None: `options`'
            precision, float32 by default.
        options: an `InferenceOptions` holding `work_size`, `precision`, `temperature` and
            `undo_rebalancing` at once (one object for many calls and commands); each of those
            keywords given (not None) wins over its field.

    Returns:
        float32 RGB `(h, w, 3)` in [0, 1], or RGBA `(h, w, 4)` when the input
        has an alpha channel (kept unchanged). With `explain`, `(rgb, info)` where
        `info` is `{"class": name, "probability": p}` for designs that classify the
        scene (`iizuka`), else `{}`.

    Raises:
        ImageError: unreadable file, or a photo smaller than 4x4 pixels.
        WeightsError: missing or corrupt weights.
        HintError: a hint outside the photo, an unreadable color, a scribble of another size,
            or hints for a model trained without them.

    Example:
        >>> rgb = colorize("data/Test/chelsea.jpg", model="beta")
        >>> rgb.shape
        (300, 451, 3)
        >>> rgb = colorize("data/Test/chelsea.jpg", hints=[(200, 150, "#c62828")])
    """
    options = merge_options(
        options,
        work_size=work_size,
        precision=precision,
        temperature=temperature,
        undo_rebalancing=undo_rebalancing,
    )
    colorizer, note = options.load(choose_model(model, hints), weights_dir, features=embedder)
    colorizer.check_hints(hints)
    if note:
        print(note, file=sys.stderr)
    style_l = style_lightness(colorizer, style, options.work_size)
    photo = as_photo(image)
    alpha = photo.alpha
    prepared = prepare_for(colorizer, photo, options.work_size)
    del photo  # the full-resolution input is not needed any more
    hint = None if hints is None else hint_map(prepared, hints)[None]
    ab, probabilities = colorizer.predict(prepared.canvas[None], style=style_l, hints=hint)
    rgb = finish(prepared, ab[0])
    if alpha is not None:
        rgb = np.concatenate([rgb, np.asarray(alpha, np.float32)[..., None]], axis=-1)
    if explain:
        return rgb, scene_class(colorizer, None if probabilities is None else probabilities[0])
    return rgb
