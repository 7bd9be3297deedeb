"""`python -m colornet app`: its flags, and the command, which serves the page of
`colornet.app.build_app` on `--host` and `--port` until Ctrl-C or `kill`, colorizing with the inference
options given (`--work-size`, `--precision`, `--temperature`: where the page's slider starts,
`--undo-rebalancing`)."""

import time

import colornet.app
from colornet.app import HOST, PORT
from colornet.cli.arguments import int_in
from colornet.cli.options import (
    add_decoding_options,
    add_model_option,
    add_precision_option,
    add_work_size_option,
    inference_options,
)
from colornet.errors import ColornetError
from colornet.signals import sigterm_as_interrupt
from colornet.weights import provided_names


def add_arguments(parser) -> None:
    parser.add_argument("--host", default=HOST, help=f"address to serve the page on (default: {HOST})")
    parser.add_argument(
        "--port", type=int_in(1, 65535), default=PORT, help=f"port to serve the page on (default: {PORT})"
    )
    add_model_option(parser, help=f"model chosen when the page opens: {', '.join(provided_names())}")
    add_work_size_option(parser)
    add_precision_option(parser)
    add_decoding_options(parser)


@sigterm_as_interrupt()  # a plain `kill` stops the page as Ctrl-C does
def run(args) -> int:
    app = colornet.app.build_app(args.model, options=inference_options(args))
    app.queue()
    try:
        serve(app, args.host, args.port)
    finally:
        app.results.close()  # the page's files go with it, also after Ctrl-C or an error
    return 0


def serve(app, host: str, port: int) -> None:
    """Serve `app` until Ctrl-C or `kill`, then close it."""
    try:
        app.launch(
            server_name=host,
            server_port=port,
            share=False,
            quiet=True,
            prevent_thread_lock=True,
            show_error=True,
        )
    except OSError:
        raise ColornetError(
            f"port {port} on {host} is taken or cannot be used; pass another --port."
        ) from None
    try:
        print(f"colornet app: open http://{host}:{port} in a browser (Ctrl-C stops it).", flush=True)
        while app.is_running:  # until Ctrl-C or `kill`
            time.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        # Open pages are told first, so that the server stops at once and removes Gradio's copies
        # of the uploads and results on its way out.
        app.close(verbose=False)
