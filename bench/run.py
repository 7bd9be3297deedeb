"""Run every benchmark in bench/ and summarize the ratios they report.

Each benchmark is a script `bench/NAME.py` run in its own process from the
repository root; `--quick` is passed on to each. Scripts print a human table and
one or more `BENCH_JSON {...}` lines (see bench/README.md), which are collected
here. A missing script is reported, not fatal; a failing one makes the exit code 1.

    python bench/run.py                     # every benchmark, default settings
    python bench/run.py --quick             # short settings, a few minutes on 2 cores
    python bench/run.py --only train_step --json bench-results.json
"""

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
PREFIX = "BENCH_JSON "
# The benchmarks of the project, in the order they run; any other bench/*.py script runs after them.
BENCHMARKS = ("pipeline", "train_step", "full", "colorize")
NOT_BENCHMARKS = {"run"}


def discover(bench_dir=BENCH_DIR) -> list[tuple[str, Path | None]]:
    """(name, script path or None when missing) for the known benchmarks, then any other script."""
    found = {p.stem: p for p in sorted(Path(bench_dir).glob("*.py")) if not p.stem.startswith("_")}
    names = [*BENCHMARKS, *(n for n in found if n not in BENCHMARKS and n not in NOT_BENCHMARKS)]
    return [(name, found.get(name)) for name in names]


def parse_records(lines) -> list[dict]:
    """The JSON objects of the `BENCH_JSON ` lines; a line that is not valid JSON is returned as an error."""
    records = []
    for line in lines:
        if line.startswith(PREFIX):
            try:
                record = json.loads(line[len(PREFIX) :])
            except ValueError as err:
                record = {"error": f"unreadable BENCH_JSON line ({err})"}
            records.append(record if isinstance(record, dict) else {"value": record})
    return records


def run_script(path: Path, args: list[str], timeout: float) -> dict:
    """Run one benchmark, echoing its output; returns status, seconds and its records."""
    start = time.perf_counter()
    lines, status = [], "ok"
    with subprocess.Popen(
        [sys.executable, str(path), *args], cwd=REPO, stdout=subprocess.PIPE, text=True, bufsize=1
    ) as proc:
        timer = threading.Timer(timeout, proc.kill)  # also stops a script that hangs silently
        timer.start()
        try:
            for line in proc.stdout:
                print(line, end="", flush=True)
                lines.append(line.rstrip("\n"))
            proc.wait()
        finally:
            timer.cancel()
    if time.perf_counter() - start >= timeout:
        status = f"timed out after {timeout:.0f} s"
    elif proc.returncode != 0:
        status = f"failed (exit code {proc.returncode})"
    records = parse_records(lines)
    if status == "ok" and not records:
        status = "no BENCH_JSON line"
    if status == "ok" and any("error" in r for r in records):
        status = next(r["error"] for r in records if "error" in r)
    return {"status": status, "seconds": round(time.perf_counter() - start, 1), "records": records}


def ratios(record: dict) -> list[tuple[str, float, float | None]]:
    """(key, ratio, target or None) for each top-level `ratio` or `ratio_*` number of a record."""
    targets = record.get("targets") or {}
    return [
        (key, value, targets.get(key))
        for key, value in record.items()
        if (key == "ratio" or key.startswith("ratio_")) and isinstance(value, (int, float))
    ]


def summary_table(results: dict) -> str:
    """One line per reported ratio (or per benchmark without one): status, time, ratio and target."""
    rows = [("benchmark", "status", "seconds", "ratio", "value", "target", "met")]
    for name, result in results.items():
        seconds = "-" if result["seconds"] is None else f"{result['seconds']:.0f}"
        found = [
            (key, value, target) for record in result["records"] for key, value, target in ratios(record)
        ]
        if not found:
            rows.append((name, result["status"], seconds, "-", "-", "-", "-"))
        for key, value, target in found:
            met = "-" if target is None else ("yes" if value >= target else "no")
            target_text = "-" if target is None else f"{target:g}"
            rows.append((name, result["status"], seconds, key, f"{value:.3g}", target_text, met))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these benchmarks (script names)")
    parser.add_argument("--json", metavar="OUT.json", help="write every benchmark's status and records")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark (default 1800)")
    args = parser.parse_args(argv)

    scripts = discover()
    if args.only:
        unknown = sorted(set(args.only) - {name for name, _ in scripts})
        if unknown:
            parser.error(f"no benchmark named {', '.join(unknown)}; see bench/README.md.")
        scripts = [(name, path) for name, path in scripts if name in args.only]

    results = {}
    for name, path in scripts:
        if path is None:
            print(f"=== {name}: bench/{name}.py is missing, skipped", flush=True)
            results[name] = {"status": "missing", "seconds": None, "records": []}
            continue
        print(f"=== {name}: python bench/{name}.py{' --quick' if args.quick else ''}", flush=True)
        results[name] = run_script(path, ["--quick"] if args.quick else [], args.timeout)
        print(flush=True)

    print("=== summary")
    print(summary_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"wrote {args.json}")
    failed = [n for n, r in results.items() if r["status"] not in ("ok", "missing")]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
