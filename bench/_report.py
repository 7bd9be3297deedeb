"""How every benchmark ends (`README.md`, the output convention): its result as one `BENCH_JSON` line,
and in a file where the script was given `--json`."""

import json


def report(result: dict, json_path=None) -> dict:
    """Print `result` as the `BENCH_JSON` line and, with `json_path`, write it there too (through a
    temporary file and a rename: never a truncated file); returns `result`."""
    print("BENCH_JSON " + json.dumps(result), flush=True)
    if json_path:
        from colornet.files import atomic_write_json

        atomic_write_json(json_path, result)
    return result
