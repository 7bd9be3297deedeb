"""A local web page to colorize photos without a terminal: `python -m colornet app`.

A person drops photos (several at once), picks one of the provided models (and the style
photo, or the temperature, where the model has one), sees each photo before and after on a
slider, and downloads the results one by one or as a zip. In a second tab, "Color hints", they
paint colors on a photo in an image editor and see it colorized with those hints next to the
automatic colors (`colornet.app_hints`; only with models trained with hint channels). The page is
built with Gradio (`pip install gradio`) and runs on 127.0.0.1 by default, without analytics or
share links.

Every photo goes through `colornet.colorize`, the one inference path of the command line; the
next uploads are read and the last results written while the network colors one.
A photo that cannot be used (not an image, more pixels than `colornet.images.MAX_PIXELS`,
corrupt) gives a one-line message naming it; the other photos of the drop are still colorized.

Nothing stays on disk: each click's results go to a folder of its own (`ResultFolders`), removed
at the visitor's next click, when the visitor closes the page, when the page stops, and oldest
first once all of them pass `RESULTS_CAP` bytes; Gradio's copies of the uploads and results are
removed after `CACHE_AGE` seconds and when the page stops.

>>> app = build_app()                  # a gradio.Blocks, not started
>>> result = colorize_uploads(["old.jpg"], "beta")
>>> result.files, result.messages
"""

import os
import tempfile
import zipfile
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from colornet.app_hints import NO_HINTS_MODEL, colorize_with_hints, hints_tab, loaded
from colornet.app_results import ResultFolders
from colornet.color import rgb_to_gray, to_uint8
from colornet.defaults import DEFAULT_MODEL
from colornet.errors import ColornetError
from colornet.inference_options import InferenceOptions, merge_options
from colornet.pipeline import ahead, behind
from colornet.weights import WEIGHTS_DIR, provided_names

HOST = "127.0.0.1"  # loopback: the page is not reachable from other machines unless --host says so
PORT = 7860  # Gradio's usual port
PREVIEW_SIDE = 1024  # longer side of the before/after images shown on the page, at most
INSTALL_HINT = "the web page needs Gradio: pip install 'gradio~=6.31' (or pip install 'colornet[app]')."
CACHE_AGE = 3600  # seconds Gradio keeps its copies of uploads and results (checked every CACHE_AGE / 6)
TEMPERATURE_LABEL = "Temperature (1: muted average colors; toward 0: vivid, riskier)"


# --- what a model offers ----------------------------------------------------------


@dataclass
class ModelControls:
    """Which extra inputs a provided model takes: the page shows only these."""

    style: bool = False  # a style photo whose global features color the others (iizuka)
    temperature: bool = False  # a temperature for decoding color bins (designs that have one)
    default_temperature: float = 0.38  # the model's own decoding temperature, where it has one
    hints: bool = False  # a person's color hints (a network trained with hint channels)


def model_controls(name: str, weights_dir=WEIGHTS_DIR) -> ModelControls:
    """The extra inputs of provided model `name`, read from its `.json` without loading the weights.

    A temperature is offered when the model's codec has one (it decodes ab bins); hints when its
    codec takes a hint map (its options say `"hints": true`)."""
    from colornet.models import get_design
    from colornet.weights import read_config

    config = read_config(Path(weights_dir) / f"{name}.weights.h5") or {"model": name}
    codec = get_design(config["model"]).make_codec(config.get("options", {}))
    return ModelControls(
        style=codec.takes_style,
        temperature=codec.decodes_bins,
        default_temperature=float(codec.temperature if codec.decodes_bins else 0.38),
        hints=codec.takes_hints,
    )


# --- the function the button calls ---------------------------------------------------


@dataclass
class Result:
    """What one click on Colorize produced."""

    pairs: list = field(default_factory=list)  # (before, after) uint8 previews, one per colorized photo
    files: list = field(default_factory=list)  # the colorized PNGs, full resolution
    zip_path: str | None = None  # all of them in one zip
    messages: list = field(default_factory=list)  # one line per photo that could not be used

    def report(self) -> str:
        lines = [f"{len(self.files)} colorized, {len(self.messages)} failed."]
        return "\n".join(lines + [f"- {message}" for message in self.messages])


def shown_name(path) -> str:
    """The name the person uploaded (Gradio keeps it as the file's name in its own folder)."""
    return os.path.basename(str(path))


def preview(rgb) -> np.ndarray:
    """uint8 RGB whose longer side is at most `PREVIEW_SIDE`, for the page (the files keep full size)."""
    from PIL import Image

    rgb = np.asarray(rgb)[..., :3]
    image = Image.fromarray(rgb if rgb.dtype == np.uint8 else to_uint8(rgb))
    image.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
    return np.asarray(image)


def colorize_uploads(
    paths,
    model=DEFAULT_MODEL,
    style=None,
    temperature: float | None = None,
    out_dir=None,
    weights_dir=WEIGHTS_DIR,
    colorizers: dict | None = None,
    options: InferenceOptions | None = None,
) -> Result:
    """Colorize uploaded photos, each independently: a bad file is reported and skipped.

    Args:
        paths: the uploaded files.
        model: a provided model's name, a weights path, or a `Colorizer`.
        style: for designs with a global path (iizuka): a style photo's path, or None.
        temperature: for designs that decode color bins with one (it wins over `options`'); ignored
            by the others, as `options`' decoding is.
        out_dir: where the colorized PNGs and the zip go (default: a new temporary folder, which
            the caller removes).
        weights_dir: where provided weights are looked up by name.
        colorizers: a dict that keeps loaded models between calls (name -> `Colorizer`).
        options: the `InferenceOptions` every photo is colorized with (work size, precision, decoding).

    Returns:
        a `Result`: previews, files, zip and one message per photo that failed, naming it.
    """
    from colornet.images import load_image, save_image
    from colornet.infer import colorize

    result = Result()
    paths = [p for p in (paths or []) if p]
    if not paths:
        result.messages.append("no photo: drop one or more photos first.")
        return result
    out_dir = Path(out_dir or tempfile.mkdtemp(prefix="colornet-app-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    colorizers = {} if colorizers is None else colorizers
    try:
        options = merge_options(options)
        colorizer = loaded(colorizers, model, weights_dir, options)
        if colorizer.has_bins:  # the page's temperature wins; other models have nothing to decode
            options = merge_options(options, temperature=temperature)
        else:
            options = options.replace(temperature=None, undo_rebalancing=None)
        colorizer, _ = options.decode(colorizer)  # once for every photo: an unknown prior says so here
        extra = {"work_size": options.work_size}
        if style:
            from colornet.infer import style_lightness

            extra["style"] = load_image(style)  # read once for every photo
            style_lightness(colorizer, extra["style"])  # a model without a global path says so here
    except ColornetError as err:
        message = str(err).replace(str(style), shown_name(style)) if style else str(err)
        result.messages.append(message.replace("--style", "the style photo"))
        return result
    taken = set()

    def read():  # the uploads read ahead, on a thread of their own, while the network colors the last
        for path in paths:
            try:
                yield path, load_image(path), None
            except ColornetError as err:
                yield path, None, err

    # Reading ahead and writing behind the network (`colornet.pipeline`), order kept.
    with behind(2) as writing, closing(ahead(read(), 2)) as reading:
        for path, photo, error in reading:
            name = shown_name(path)
            try:
                if error is not None:
                    raise error
                rgb = colorize(photo, colorizer, **extra)
            except ColornetError as err:
                result.messages.append(str(err).replace(str(path), name))
                continue
            stem, n = Path(name).stem, 1
            while f"{stem}.png" in taken:  # two uploads with one name
                n += 1
                stem = f"{Path(name).stem}-{n}"
            taken.add(f"{stem}.png")
            output = out_dir / f"{stem}.png"
            alpha = rgb[..., 3] if rgb.shape[-1] == 4 else None
            writing.submit(save_image, output, rgb[..., :3], alpha)
            result.files.append(str(output))
            before = photo.rgb if photo.is_gray else np.asarray(rgb_to_gray(photo.rgb))  # what the model saw
            result.pairs.append((preview(before), preview(rgb)))
    if result.files:
        result.zip_path = str(out_dir / "colorized.zip")
        with zipfile.ZipFile(result.zip_path, "w") as archive:
            for file in result.files:
                archive.write(file, os.path.basename(file))
    return result


# --- the page ------------------------------------------------------------------------


def import_gradio():
    """Gradio, or a `ColornetError` saying in one line how to install it."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # offline machines: no calls home
    try:
        import gradio
    except ImportError:
        raise ColornetError(INSTALL_HINT) from None
    return gradio


def build_app(
    model: str = DEFAULT_MODEL,
    weights_dir=WEIGHTS_DIR,
    results: ResultFolders | None = None,
    options: InferenceOptions | None = None,
):
    """The page, a `gradio.Blocks` (not started): `build_app().launch()` serves it.

    Args:
        model: the model chosen when the page opens.
        weights_dir: where the provided weights are.
        results: where each click's files go (default: a new `ResultFolders`, removed at exit);
            the page keeps it as `app.results`.
        options: the `InferenceOptions` of every photo the page colorizes (default: the models'
            own); its temperature is where the temperature slider starts, for models that have one.
    """
    options = merge_options(options)
    gr = import_gradio()
    names = provided_names(weights_dir)
    if model not in names:
        raise ColornetError(f"--model {model!r}: not a provided model; choose one of {', '.join(names)}.")
    colorizers = {}  # loaded models, kept while the page runs
    first = model_controls(model, weights_dir)
    results = results or ResultFolders()
    hint_names = [name for name in names if model_controls(name, weights_dir).hints]
    automatic_kept = {}  # the hints tab's automatic colors of the last photos

    def start_temperature(controls):  # the slider's value when a model is chosen
        return controls.default_temperature if options.temperature is None else options.temperature

    def on_model(name):
        controls = model_controls(name, weights_dir)
        return gr.update(visible=controls.style), gr.update(
            visible=controls.temperature, value=start_temperature(controls)
        )

    def on_colorize(files, name, style, temperature, request: gr.Request):
        files, style = uploaded_paths(files), (uploaded_paths([style]) or [None])[0]
        controls = model_controls(name, weights_dir)  # a hidden control's value is not used
        style = style if controls.style else None
        temperature = temperature if controls.temperature else None
        out_dir = results.new(session_of(request))
        result = colorize_uploads(
            files,
            name,
            style,
            temperature,
            out_dir=out_dir,
            weights_dir=weights_dir,
            colorizers=colorizers,
            options=options,
        )
        results.trim(keep=out_dir)
        for message in result.messages:
            gr.Warning(message)
        pairs = result.pairs
        downloads = result.files + ([result.zip_path] if result.zip_path else [])
        return (
            pairs[0] if pairs else None,
            [after for _, after in pairs],
            pairs,
            downloads or None,
            result.report(),
        )

    def on_hints(editor_value, name, request: gr.Request):
        out_dir = results.new(session_of(request))
        result = colorize_with_hints(
            editor_value,
            name,
            out_dir=out_dir,
            weights_dir=weights_dir,
            colorizers=colorizers,
            automatic_kept=automatic_kept,
            options=options,
        )
        results.trim(keep=out_dir)
        if result.hinted is None:
            gr.Warning(result.message)
        shown = [None if image is None else preview(image) for image in (result.automatic, result.hinted)]
        return *shown, result.files or None, result.message

    def on_select(pairs, event: gr.SelectData):
        return pairs[event.index] if pairs and event.index < len(pairs) else None

    def on_leave(request: gr.Request):
        results.leave(session_of(request))

    cache_check = max(1, CACHE_AGE // 6)
    with gr.Blocks(title="colornet", analytics_enabled=False, delete_cache=(cache_check, CACHE_AGE)) as app:
        gr.Markdown(
            "# colornet\nNothing is kept: results are removed when you close the page, and after "
            f"{CACHE_AGE // 60} minutes."
        )
        pairs = gr.State([])
        with gr.Tab("Colorize photos"):
            gr.Markdown(
                "Drop black-and-white photos, choose a model, press **Colorize**. "
                "The colorized photos keep their size; download them one by one or as a zip."
            )
            with gr.Row():
                with gr.Column():
                    files = gr.File(label="Photos", file_count="multiple", type="filepath", elem_id="photos")
                    chosen = gr.Dropdown(names, value=model, label="Model")
                    style = gr.File(
                        label="Style photo (its colors guide the others)",
                        type="filepath",
                        visible=first.style,
                    )
                    temperature = gr.Slider(
                        0.01,
                        max(1.0, options.temperature or 0.0),  # a --temperature above 1 fits too
                        value=start_temperature(first),
                        label=TEMPERATURE_LABEL,
                        visible=first.temperature,
                    )
                    button = gr.Button("Colorize", variant="primary")
                with gr.Column():
                    slider = gr.ImageSlider(label="Before / after", type="numpy", format="png")
                    gallery = gr.Gallery(label="Colorized (click one to compare)", columns=4, height=220)
                    downloads = gr.File(label="Download", file_count="multiple", elem_id="downloads")
                    report = gr.Textbox(label="Report", lines=3, interactive=False, elem_id="report")
        with gr.Tab("Color hints", elem_id="hints-tab"):
            if not hint_names:
                gr.Markdown(NO_HINTS_MODEL, elem_id="hints-none")
            else:
                hints_tab(gr, hint_names, model, on_hints)
        chosen.change(on_model, chosen, [style, temperature], api_name=False)
        button.click(
            on_colorize,
            [files, chosen, style, temperature],
            [slider, gallery, pairs, downloads, report],
            api_name="colorize",
            preprocess=False,  # the uploads' paths as they are (Gradio's own step leaves an empty file each)
        )
        gallery.select(on_select, pairs, slider, api_name=False)
        app.unload(on_leave)
    app.results = results
    return app


def uploaded_paths(files) -> list[str]:
    """The paths of uploaded files as the page's button receives them (Gradio's file data, or paths)."""
    return [f.get("path") if isinstance(f, dict) else str(f) for f in files or [] if f]


def session_of(request) -> str:
    """The visitor's session (one per open page); "" where Gradio gives none (a direct call)."""
    return str(getattr(request, "session_hash", None) or "")
