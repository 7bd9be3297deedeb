"""How the time to plan a folder (`infer_jobs.plan_jobs`: its photos found, each given its output's
name) grows with the number of photos: the planning time per photo of a small folder and of a large
one, in the same process.

    python bench/plan_speed.py                # 200 and 2000 photos
    python bench/plan_speed.py --quick        # 100 and 1000

The folders hold empty files named as photos (`photo_00000.jpg`, ...): planning reads names only.
`ratio`: the time per photo of the small folder over that of the large one, the fastest of three
runs each: 1 where planning takes time in proportion to the number of photos, 0.1 where it grows
with its square (as it did when each photo listed 2n+3 candidate names).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from _report import report  # noqa: E402


def plan_ms(folder: Path, out: Path, runs: int = 3) -> float:
    """The fastest of `runs` plannings of `folder`, in milliseconds."""
    from colornet.infer_jobs import plan_jobs

    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        jobs, failures = plan_jobs(str(folder), out, "jpg")
        best = min(best, time.perf_counter() - began)
    if failures:
        raise RuntimeError("; ".join(failures))
    return 1000 * best


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", type=int, default=200, help="photos in the small folder (default: 200)")
    parser.add_argument("--large", type=int, default=2000, help="photos in the large folder (default: 2000)")
    parser.add_argument("--quick", action="store_true", help="100 and 1000 photos")
    parser.add_argument("--json", help="also write the result here")
    args = parser.parse_args(argv)
    if args.quick:
        args.small, args.large = 100, 1000
    if not 0 < args.small < args.large:
        parser.error(f"--small {args.small} --large {args.large}: use 0 < small < large")

    from colornet.precision import cpu_name

    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in (args.small, args.large):
            folder = Path(tmp) / f"in_{n}"
            folder.mkdir()
            for i in range(n):
                (folder / f"photo_{i:05d}.jpg").touch()
            rows[n] = plan_ms(folder, Path(tmp) / f"out_{n}")
    per_photo = {n: ms / n for n, ms in rows.items()}
    ratio = per_photo[args.small] / per_photo[args.large]
    print(f"plan_speed: {cpu_name()}")
    print("| photos | planning ms | ms a photo |")
    print("|---|---|---|")
    for n, ms in rows.items():
        print(f"| {n} | {ms:.1f} | {per_photo[n]:.4f} |")
    print(f"ratio: {ratio:.2f} (1: in proportion to the photos)")
    result = {
        "benchmark": "plan_speed",
        "cpu": cpu_name(),
        "photos": list(rows),
        "plan_ms": [round(ms, 2) for ms in rows.values()],
        "ratio": round(ratio, 3),
    }
    return report(result, args.json)


if __name__ == "__main__":
    main()
