"""The web page's color hints (`colornet.app`, its "Color hints" tab): a person paints on the photo
in Gradio's image editor, and the photo is colorized with those strokes as hints (Zhang et al. 2017,
`colornet.hints`), next to the automatic colors.

The editor's value is a dict: `background` (the photo, RGBA), `layers` (RGBA, the photo's size,
transparent where nothing was painted) and `composite`. The non-transparent pixels of all layers
together, the upper layer's color where strokes overlap, are the scribble that `colorize(hints=...)`
takes. The automatic colors of a photo are kept for the next clicks (`AUTOMATIC_KEPT` photos), so
that after the first click only the hinted colors are computed again. Anything wrong (no photo, a
model trained without hint channels, a layer of another size than the photo) is one line on the page.

>>> result = colorize_with_hints(editor_value, "features-hints", out_dir="out")
>>> result.automatic, result.hinted, result.message     # uint8 RGB(A) at full size, one line
>>> hints_tab(gr, ["features-hints"], "features", on_hints)  # the tab's components, inside a gr.Tab
"""

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colornet.color import to_uint8
from colornet.defaults import HINTS_MODEL
from colornet.errors import ColornetError
from colornet.inference_options import InferenceOptions, merge_options
from colornet.weights import WEIGHTS_DIR

AUTOMATIC_KEPT = 4  # photos whose automatic colors are kept between clicks, all visitors together
HINTED_NAME = "colorized-with-hints.png"  # the full-size result to download
SCRIBBLE_NAME = "hints.png"  # the strokes as a transparent PNG, for `colorize --hints hints.png`
# The brush's colors in the hints tab (its color picker offers any other)
HINT_COLORS = ["#2e7d32", "#c62828", "#1565c0", "#f9a825", "#6d4c41", "#e0ac69", "#7b1fa2"]
NO_HINTS_MODEL = (
    "No provided model takes color hints: hints need weights trained with hint channels "
    f"(`{HINTS_MODEL}`, trained with `python -m colornet train features --hints`), and none of "
    "the provided models was."
)


@dataclass
class HintsResult:
    """What one click on Colorize in the hints tab produced."""

    automatic: np.ndarray | None = None  # uint8 RGB (RGBA for a photo with transparency), full size
    hinted: np.ndarray | None = None  # the same with the person's hints
    files: list = field(default_factory=list)  # the hinted PNG and the strokes' PNG
    message: str = ""  # one line: what was done, or what is wrong and what to do


def editor_photo(editor_value) -> np.ndarray | None:
    """The photo of the editor's value (uint8 `(H, W, 3)`, or `(H, W, 4)` where it has
    transparency), or None where no photo was uploaded."""
    background = (editor_value or {}).get("background")
    if background is None:
        return None
    photo = np.asarray(background)
    if photo.ndim == 3 and photo.shape[-1] == 4 and photo[..., 3].min() == 255:
        photo = photo[..., :3]  # opaque: the alpha says nothing
    return photo


def editor_scribble(editor_value, size: tuple[int, int]) -> np.ndarray:
    """The union of the editor's layers, an RGBA scribble `(H, W, 4)` uint8 of the photo's `size`
    `(H, W)`: each layer's non-transparent pixels, the upper layer's where they overlap.

    Raises:
        HintError: a layer of another size than the photo, in one line.
    """
    from colornet.errors import HintError

    H, W = size
    scribble = np.zeros((H, W, 4), np.uint8)
    for i, layer in enumerate((editor_value or {}).get("layers") or [], start=1):
        layer = np.asarray(layer)
        if layer.ndim != 3 or layer.shape[-1] != 4:
            continue  # a layer without transparency cannot hold strokes apart from the photo
        if layer.shape[:2] != (H, W):
            raise HintError(
                f"the painted layer {i} is {layer.shape[1]}x{layer.shape[0]} pixels, the photo {W}x{H}; "
                "paint on the photo as uploaded (clear the layer, or upload the photo again)."
            )
        painted = layer[..., 3] > 0
        scribble[painted] = layer[painted]
    return scribble


def photo_key(photo: np.ndarray, model, options: InferenceOptions) -> tuple:
    """What the automatic colors of a photo depend on: its pixels, the model, the inference options."""
    digest = hashlib.sha1(np.ascontiguousarray(photo).tobytes()).hexdigest()
    return (digest, photo.shape, str(model), options)


def loaded(colorizers: dict, model, weights_dir, options: InferenceOptions):
    """`model` loaded once in `options`' precision (`colornet.predict.load_colorizer`) and kept in
    `colorizers` (name -> `Colorizer`) for the next calls; the page's two tabs share them."""
    from colornet.predict import load_colorizer

    key = str(model)
    if key not in colorizers:
        colorizers[key] = load_colorizer(
            model, weights_dir, precision=options.precision, work_size=options.work_size
        )
    return colorizers[key]


def colorize_with_hints(
    editor_value,
    model=HINTS_MODEL,
    *,
    work_size: int | None = None,
    out_dir=None,
    weights_dir=WEIGHTS_DIR,
    colorizers: dict | None = None,
    automatic_kept: dict | None = None,
    options: InferenceOptions | None = None,
) -> HintsResult:
    """Colorize the editor's photo without and with the strokes painted on it.

    Args:
        editor_value: the image editor's value, a dict with `background` and `layers` (arrays).
        model: a provided model's name, a weights path or a `Colorizer`, trained with hint channels.
        work_size: longer side of the working resolution; default: the model's own.
        out_dir: where the hinted PNG and the strokes' PNG go (None: no files).
        weights_dir: where provided weights are looked up by name.
        colorizers: a dict that keeps loaded models between calls (name -> `Colorizer`).
        automatic_kept: a dict that keeps the automatic colors of the last photos between calls.
        options: the `InferenceOptions` both colorings use (`work_size` given wins over its field).

    Returns:
        a `HintsResult`; where something is wrong (no photo, a model without hint channels, a layer
        of another size, an unreadable photo) no images and one line in `message`.
    """
    from colornet.images import save_image
    from colornet.infer import colorize

    start = time.perf_counter()
    photo = editor_photo(editor_value)
    if photo is None:
        return HintsResult(message="no photo: upload a photo to the editor first, then paint on it.")
    colorizers = {} if colorizers is None else colorizers
    automatic_kept = {} if automatic_kept is None else automatic_kept
    try:
        options = merge_options(options, work_size=work_size)
        scribble = editor_scribble(editor_value, photo.shape[:2])
        colorizer = loaded(colorizers, model, weights_dir, options)
        if not colorizer.takes_hints:
            return HintsResult(
                message=f"{colorizer.source or colorizer.name} was trained without hint channels, so it "
                f"cannot take color hints; choose a model trained with them ({HINTS_MODEL})."
            )
        cached = photo_key(photo, model, options)
        automatic = automatic_kept.get(cached)
        if automatic is None:
            automatic = to_uint8(colorize(photo, colorizer, options=options))
            while len(automatic_kept) >= AUTOMATIC_KEPT:
                automatic_kept.pop(next(iter(automatic_kept)))  # the oldest photo
            automatic_kept[cached] = automatic
        painted = int((scribble[..., 3] > 0).sum())
        if not painted:
            return HintsResult(
                automatic=automatic,
                hinted=automatic,
                message="no hints painted: these are the automatic colors; paint on the photo with the "
                "brush, then press Colorize.",
            )
        hinted = to_uint8(colorize(photo, colorizer, hints=scribble, options=options))
    except ColornetError as err:
        return HintsResult(message=str(err))
    files = []
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        alpha = hinted[..., 3] / 255.0 if hinted.shape[-1] == 4 else None
        save_image(out_dir / HINTED_NAME, hinted[..., :3], alpha=alpha)
        save_image(out_dir / SCRIBBLE_NAME, scribble[..., :3], alpha=scribble[..., 3] / 255.0)
        files = [str(out_dir / HINTED_NAME), str(out_dir / SCRIBBLE_NAME)]
    seconds = time.perf_counter() - start
    return HintsResult(
        automatic=automatic,
        hinted=hinted,
        files=files,
        message=f"colorized with hints from {painted} painted pixels ({seconds:.1f} s); "
        "the automatic colors are beside them.",
    )


# --- the tab --------------------------------------------------------------------------


def hints_tab(gr, hint_names: list, model: str, on_hints) -> None:
    """The "Color hints" tab's editor, buttons and results (in the `gr.Tab` being built)."""
    gr.Markdown(
        "Upload a photo, paint the colors you want on it with the brush (pick any color with the "
        "palette; a click paints a point), press **Colorize**. The network spreads each color along "
        "the photo's edges; the automatic colors are shown beside. **Undo** takes the last stroke back."
    )
    with gr.Row():
        with gr.Column():
            editor = gr.ImageEditor(
                label="Photo and hints",
                type="numpy",
                image_mode="RGBA",
                sources=("upload", "clipboard"),
                transforms=(),  # strokes stay on the photo's own pixels
                brush=gr.Brush(colors=HINT_COLORS, color_mode="defaults"),
                layers=gr.LayerOptions(allow_additional_layers=True),
                height=520,
                elem_id="hints-editor",
            )
            default = model if model in hint_names else HINTS_MODEL
            chosen = gr.Dropdown(
                hint_names,
                value=default if default in hint_names else hint_names[0],
                label="Model (trained with hints)",
            )
            button = gr.Button("Colorize", variant="primary", elem_id="hints-colorize")
        with gr.Column():
            with gr.Row():
                automatic = gr.Image(
                    label="Automatic",
                    type="numpy",
                    format="png",
                    interactive=False,
                    elem_id="hints-automatic",
                )
                hinted = gr.Image(
                    label="With your hints",
                    type="numpy",
                    format="png",
                    interactive=False,
                    elem_id="hints-hinted",
                )
            downloads = gr.File(
                label="Download (full size; hints.png works with colorize --hints)",
                file_count="multiple",
                elem_id="hints-downloads",
            )
            report = gr.Textbox(label="Report", lines=1, interactive=False, elem_id="hints-report")
    button.click(
        on_hints, [editor, chosen], [automatic, hinted, downloads, report], api_name="colorize_hints"
    )
