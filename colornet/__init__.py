"""colornet: automatic colorization of black-and-white photos with Keras.

>>> import colornet
>>> rgb = colornet.colorize("old_photo.jpg", model="beta")   # numpy (h, w, 3) in [0, 1]
"""

__version__ = "0.1.0"


def colorize(image, model="beta", **kwargs):
    """Colorize one photo (path or array); see `colornet.colorize.colorize`."""
    from colornet.colorize import colorize as _colorize

    return _colorize(image, model=model, **kwargs)
