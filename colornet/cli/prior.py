"""`python -m colornet prior DIR --out prior.npy`: its flags, and the command, which checks `--out`
before any work, counts the bins with `colornet.prior.compute_prior` and writes the prior."""

import os

import numpy as np
import tensorflow as tf

import colornet.prior
from colornet.bins import N_BINS, SIGMA, ab_bins
from colornet.cli.arguments import path_name
from colornet.cli.options import add_overwrite_option
from colornet.errors import ColornetError
from colornet.files import can_create, recorded_checksum
from colornet.prior import PRIOR_FILE, PRIOR_SIZE, check_options, save_prior


def add_arguments(parser) -> None:
    parser.add_argument(
        "data", nargs="+", metavar="DIR", help="folders (recursive), files or globs of color photos"
    )
    parser.add_argument(
        "--out",
        type=path_name,
        default=PRIOR_FILE,
        help="the prior file to write; an existing one is kept unless --overwrite, and the provided "
        "priors in weights/ never (default: %(default)s, in the current folder)",
    )
    add_overwrite_option(parser, "an existing --out file")
    parser.add_argument(
        "--size",
        type=int,
        default=PRIOR_SIZE,
        help="count the pixels of center crops of this side, in pixels (default: %(default)s)",
    )
    parser.add_argument(
        "--sigma",
        type=float,
        default=SIGMA,
        help="Gaussian smoothing over the ab plane, in Lab units; 0 for none (default: %(default)s, the paper's)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=32,
        help="photos per step (default: %(default)s)",
    )


def check_out(out, overwrite: bool) -> None:
    """Before any work: refuse an `--out` that is a folder, a provided prior (recorded in a
    `SHA256SUMS` beside it), an existing file unless `overwrite`, or a place that cannot be written."""
    if os.path.isdir(out):
        raise ColornetError(f"--out {out}: is a folder; name a file, e.g. {os.path.join(out, PRIOR_FILE)}.")
    if recorded_checksum(out) is not None:
        raise ColornetError(
            f"--out {out}: is provided with colornet (recorded in SHA256SUMS beside it); write your prior "
            f"elsewhere, e.g. --out {PRIOR_FILE}."
        )
    if os.path.lexists(out) and not overwrite:
        raise ColornetError(f"--out {out}: exists; pass --overwrite to replace it, or name another file.")
    if not can_create(out):
        raise ColornetError(f"--out {out}: its folder cannot be written; choose another place.")


def run(args) -> int:
    check_options(args.size, args.batch_size, args.sigma, flags=True)
    check_out(args.out, args.overwrite)
    try:
        prior = colornet.prior.compute_prior(
            args.data if len(args.data) > 1 else args.data[0], args.size, args.batch_size, args.sigma
        )
    except (MemoryError, tf.errors.ResourceExhaustedError):
        raise ColornetError(
            f"--size {args.size} with --batch-size {args.batch_size} needs more memory than there is; "
            "use a smaller --size or --batch-size."
        ) from None
    try:
        path = save_prior(args.out, prior)
    except OSError as err:
        raise ColornetError(
            f"--out {args.out}: cannot be written ({err.strerror or err}); choose another place."
        ) from None
    top = np.argsort(prior)[::-1][:3]
    common = ", ".join(f"({a:g}, {b:g}) {prior[i]:.1%}" for i, (a, b) in zip(top, ab_bins()[top]))
    print(f"Wrote {path}: the prior over {N_BINS} ab bins; most common: {common}.")
    return 0
