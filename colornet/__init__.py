"""colornet: automatic colorization of black-and-white photos with Keras.

    >>> import colornet
    >>> rgb = colornet.colorize("old_photo.jpg", model="beta")   # numpy (h, w, 3) in [0, 1]

    >>> colorizer = colornet.load_colorizer("beta")                  # load once for many photos
    >>> rgb = colornet.colorize("old_photo.jpg", model=colorizer)

    >>> summary = colornet.colorize_video("film.mp4", "film_color.mp4")   # audio and frame rate kept

    >>> options = colornet.InferenceOptions(work_size=512, precision="auto")  # one value, every command
    >>> rgb = colornet.colorize("old_photo.jpg", options=options)

Modules, each layer importing only those above it: `errors`, `files`, `printing` (file names
any terminal can show), `signals` (`kill` ends a command as Ctrl-C does), `precision`, `color`,
`bins` (the ab bins of Zhang et al. 2016: soft-encoding, rebalancing, annealed mean), `codecs`
(what each design's network takes and gives), `images`, `data` (tf.data pipelines), `prior`
(how often each ab bin occurs in a folder), `embed` (Inception embeddings), `models` (one
module and one `Design` per design), `losses`, `weights`, `fullres` (the full-resolution
merge), `predict` (a loaded `Colorizer`), `inference_options` (the settings every command
colorizes with, one value), `finite` (refusing networks whose colors are not
numbers), `distribute` (tf.distribute strategies), `run_dir` (a run folder: state, resume
checks), `train_args` (training's arguments, checked), `train`,
`infer` (colorizing files), `temporal` (cuts, smoothing and flicker over frames),
`video_output` (where a video is written, checked), `video`
(colorizing videos), `export` (models that run without colornet), `metrics`, `evaluate`,
`plot`, `samples`, `app` (the web page), `cli`.
"""

__version__ = "0.1.0"

from colornet.defaults import DEFAULT_MODEL, HINTS_MODEL  # the models used when none is named

__all__ = ["DEFAULT_MODEL", "HINTS_MODEL", "InferenceOptions", "colorize", "colorize_video", "load_colorizer"]


def __getattr__(name):
    """`colornet.InferenceOptions` (`colornet.inference_options`), imported when first used."""
    if name == "InferenceOptions":
        from colornet.inference_options import InferenceOptions

        return InferenceOptions
    raise AttributeError(f"module 'colornet' has no attribute {name!r}")


def colorize(image, model=None, **kwargs):
    """Colorize one photo (a path or an array) at its full size, with color hints where given
    (`hints=[(x, y, "#2e7d32"), ...]`); see `colornet.infer.colorize`."""
    from colornet.infer import colorize as _colorize

    return _colorize(image, model=model, **kwargs)


def colorize_video(source, output, model=None, **kwargs):
    """Colorize a video file into another (frame rate, size, lightness and audio kept); see
    `colornet.video.colorize_video`."""
    from colornet.video import colorize_video as _colorize_video

    return _colorize_video(source, output, model=model or DEFAULT_MODEL, **kwargs)


def load_colorizer(model=None, **kwargs):
    """A network ready to colorize, with its design and training size; see `colornet.predict.load_colorizer`."""
    from colornet.predict import load_colorizer as _load

    return _load(model or DEFAULT_MODEL, **kwargs)
