"""colornet: automatic colorization of black-and-white photos with Keras.

    >>> import colornet
    >>> rgb = colornet.colorize("old_photo.jpg", model="beta")   # numpy (h, w, 3) in [0, 1]

Modules: `color` (Lab in TF ops), `images` (reading photos), `data` (tf.data pipelines),
`models` (builders), `train`, `infer` (colorizing at any size), `embed` (Inception
embeddings), `metrics`, `evaluate`, `plot`, `samples`.
"""

__version__ = "0.1.0"


def colorize(image, model="beta", **kwargs):
    """Colorize one photo (a path or an array) at its full size; see `colornet.infer.colorize`."""
    from colornet.infer import colorize as _colorize

    return _colorize(image, model=model, **kwargs)
