"""The command line: `python -m colornet {train,colorize,evaluate} ...`.

Each command lives in its own module, which provides `add_arguments(parser)`
and `run(args) -> int` (the exit code).
"""

import argparse
import importlib
import os
import sys

# command name -> (module, one-line help)
COMMANDS = {
    "train": ("colornet.train", "train a model on a folder of photos"),
    "colorize": ("colornet.colorize", "colorize photos, files, folders or globs"),
    "evaluate": ("colornet.evaluate", "compare models with the gray baseline on a folder of photos"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m colornet", description="Automatic colorization of black-and-white photos."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(sub.add_parser(name, help=help_text, description=help_text))
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from colornet.errors import ColornetError

    parser = build_parser()
    args = parser.parse_args(argv)
    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        return module.run(args)
    except (ColornetError, FileNotFoundError, FileExistsError) as err:
        print(f"colornet {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"colornet {args.command}: interrupted.", file=sys.stderr)
        return 130
