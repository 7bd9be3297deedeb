"""The command line: `python -m colornet {train,colorize,evaluate,video,prior,app,export} ...`.

Each command is a module of this package (`colornet.cli.train`, ...) with `add_arguments(parser)`
and `run(args) -> int` (the exit code); it turns the arguments into a call of the library through
its module (`colornet.infer.colorize_files(...)`: the function the module holds when the command
runs). The options several commands share are declared once, in `colornet.cli.options`; argument
types are in `colornet.cli.arguments`.
"""

import argparse
import importlib
import os
import sys
import warnings

from colornet.console import quiet_native_stderr

# command name -> (module, one-line help)
COMMANDS = {
    "train": ("colornet.cli.train", "train a model on a folder of photos"),
    "colorize": ("colornet.cli.colorize", "colorize photos, files, folders or globs"),
    "evaluate": ("colornet.cli.evaluate", "compare models with the gray baseline on a folder of photos"),
    "video": ("colornet.cli.video", "colorize a video, keeping its frame rate, size and audio"),
    "prior": (
        "colornet.cli.prior",
        "count how often each ab bin occurs in a folder of color photos (zhang)",
    ),
    "app": (
        "colornet.cli.app",
        "a local web page to colorize photos: drop, compare before/after, download",
    ),
    "export": (
        "colornet.cli.export",
        "export a model that colorizes without colornet: SavedModel, TFLite or ONNX",
    ),
}


def build_parser(command: str | None = None, prog: str = "colornet") -> argparse.ArgumentParser:
    """The argument parser; only `command`'s module is imported (TensorFlow loads slowly).
    `prog` is how the user started it: `colornet` (the console script) or `python -m colornet`."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Automatic colorization of black-and-white photos.",
        epilog=f"Each command's options: {prog} COMMAND --help",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        if name == command:
            importlib.import_module(module_name).add_arguments(command_parser)
    return parser


def main(argv=None, prog: str = "colornet") -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    from colornet.errors import ColornetError

    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv:  # nothing asked: what there is to ask
        build_parser(None, prog).print_help()
        return 0
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in COMMANDS:
        with quiet_native_stderr():
            import tensorflow  # noqa: F401  (start-up lines held back)
    args = build_parser(command, prog).parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    formatwarning = warnings.formatwarning
    warnings.formatwarning = lambda message, category, *rest, **kw: (
        f"colornet {args.command}: warning: {message}\n"  # one line, without the source line
    )
    try:
        return module.run(args)
    except (ColornetError, FileNotFoundError, FileExistsError) as err:
        print(f"colornet {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"colornet {args.command}: interrupted.", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = formatwarning
