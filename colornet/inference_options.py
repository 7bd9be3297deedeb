"""The settings a person chooses for colorizing, in one frozen value that every command passes down.

    options = InferenceOptions(work_size=512, temperature=0.2)   # checked here, in one line each
    colorize("photo.jpg", "zhang", options=options)               # the same object reaches every command
    colorize_files(["old/"], "results", "zhang", options=options.replace(precision="auto"))

`colorize`, `colorize_files`, `colorize_video`, `evaluate`, `export_model` and the web page take
`options=`; their keyword arguments of the same names still work, and a keyword given (not None)
wins over the object's field (`merge_options`). The command line builds the object from its flags
(`colornet.cli.options.inference_options`). A new option is a field here, its flag in
`colornet.cli.options`, and its use in `InferenceOptions.load` or `InferenceOptions.decode`,
where a `Colorizer` takes it.
"""

import dataclasses
from dataclasses import dataclass

from colornet.bins import check_temperature, check_undo
from colornet.canvas import check_work_size
from colornet.errors import ColornetError, PrecisionError
from colornet.precision import PRECISIONS
from colornet.weights import WEIGHTS_DIR


@dataclass(frozen=True)
class InferenceOptions:
    """How a network colorizes: each field None (or float32) leaves the model's own behaviour.

    Raises (on construction and `replace`):
        ColornetError: a work size that is not a whole number of pixels from 8 to 8192, a temperature
            not above 0 and at most 10, an undo_rebalancing outside [0, 1], in one line each.
        PrecisionError: an unknown precision, in one line.
    """

    work_size: int | None = None  # longer side of the working resolution, px; None: the model's own
    precision: str = "float32"  # float32, mixed_bfloat16, mixed_float16 or auto (`load_colorizer`)
    temperature: float | None = None  # bins only: the annealed mean's temperature; None: the model's (0.38)
    undo_rebalancing: float | None = None  # bins only: share of the rebalancing taken back; None: 0

    def __post_init__(self):
        check_work_size(self.work_size)
        if self.precision not in PRECISIONS:
            raise PrecisionError(f"unknown precision {self.precision!r}; use one of {', '.join(PRECISIONS)}.")
        try:
            temperature = None if self.temperature is None else check_temperature(self.temperature)
            undo = None if self.undo_rebalancing is None else check_undo(self.undo_rebalancing)
        except ValueError as err:
            raise ColornetError(str(err)) from None
        # plain numbers, so that equal settings are equal objects (numpy integers, ints for floats)
        object.__setattr__(self, "work_size", None if self.work_size is None else int(self.work_size))
        object.__setattr__(self, "temperature", temperature)
        object.__setattr__(self, "undo_rebalancing", undo)

    def replace(self, **changes) -> "InferenceOptions":
        """These options with `changes` (field -> value), checked again."""
        return dataclasses.replace(self, **changes)

    def load(self, model, weights_dir=WEIGHTS_DIR, *, features=None):
        """`(colorizer, note)`: `model` loaded (`colornet.predict.load_colorizer`) in this precision, for
        this working size, then decoding as these options say (`decode`). A `Colorizer` is used as it is
        loaded, in its own precision."""
        from colornet.predict import load_colorizer

        colorizer = load_colorizer(
            model, weights_dir, features=features, precision=self.precision, work_size=self.work_size
        )
        return self.decode(colorizer)

    def decode(self, colorizer):
        """`(colorizer, note)`: `colorizer` decoding at this temperature and undoing this share of the
        rebalancing (`Colorizer.with_temperature`), and None; for a network without bins, it as it is and
        a one-line note that they are ignored.

        Raises:
            ColornetError: an undo_rebalancing above 0 for a network whose prior is unknown, in one line.
        """
        return colorizer.with_temperature(self.temperature, self.undo_rebalancing)


def merge_options(options: InferenceOptions | None = None, **keywords) -> InferenceOptions:
    """`options` (None: the defaults) with each keyword that is given (not None) in its field's place:
    a keyword argument of an entry point wins over the same field of its `options=`.

    Raises:
        ColornetError: `options` that is not an `InferenceOptions`, or a value out of range, in one line.
    """
    if options is None:
        options = InferenceOptions()
    elif not isinstance(options, InferenceOptions):
        raise ColornetError(
            f"options {type(options).__name__}: use colornet.InferenceOptions(...) or leave it out."
        )
    given = {name: value for name, value in keywords.items() if value is not None}
    return options.replace(**given) if given else options
