"""`python -m colornet.cli.lite0 SOURCE.pth DEST.weights.h5`: convert EfficientNet-Lite0's PyTorch
weights into the Keras weights file that `colornet.lite0` loads (`colornet.lite0.convert_pth`)."""

import argparse
from pathlib import Path

from colornet.cli.options import add_overwrite_option
from colornet.errors import WeightsError
from colornet.lite0 import SOURCE_FILE, SOURCE_PACKAGE, convert_pth


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m colornet.cli.lite0",
        description="Convert EfficientNet-Lite0's PyTorch weights (no PyTorch needed) into a Keras weights file.",
    )
    parser.add_argument("source", help=f"the .pth file ({SOURCE_FILE} from pip's {SOURCE_PACKAGE})")
    parser.add_argument("dest", help="the Keras weights file to write (.weights.h5)")
    add_overwrite_option(parser, "DEST if it exists")
    args = parser.parse_args(argv)
    if not args.dest.endswith(".weights.h5"):
        parser.error(f"{args.dest}: the weights file's name must end in .weights.h5.")
    if Path(args.dest).exists() and not args.overwrite:
        parser.error(f"{args.dest} exists; pass --overwrite to replace it.")
    try:
        convert_pth(args.source, args.dest)
    except WeightsError as err:
        print(f"colornet.cli.lite0: error: {err}")
        return 1
    print(f"wrote {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
