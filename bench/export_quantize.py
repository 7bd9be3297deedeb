"""Quantized exports: file size, speed and colors of TFLite float32 / float16 / int8 and ONNX float32 /
float16, each against the float32 export of the same model and format made in the same run.

    python bench/export_quantize.py                          # features and beta at 512x512, a few minutes
    python bench/export_quantize.py --quick                  # beta at 256x256, 3 repeats
    python bench/export_quantize.py --models features --size 640x480 --repeats 20

For each model and export: the file's MB and its ratio to the float32 file; milliseconds per photo
(the median of `--repeats` runs of the interpreter, LiteRT's where it is installed, else
`tf.lite.Interpreter`, or onnxruntime's session, after two warm-up runs, `--threads` threads) and the
speed ratio float32 ms / this ms (above 1: faster); and the mean absolute difference from
`colornet.colorize` in levels of 255 over the RGB of scikit-image's astronaut and coffee in gray, at the
export's size (both left out of int8's default calibration photos). The project's target for int8:
at most a third of the float32 file, at most 3 levels from colorize.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

EXPORTS = (
    ("tflite", "float32"),
    ("tflite", "float16"),
    ("tflite", "int8"),
    ("onnx", "float32"),
    ("onnx", "float16"),
)
PHOTOS = ("astronaut", "coffee")
TARGETS = {"int8_size_fraction": 1 / 3, "int8_diff_levels": 3.0}


def cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown CPU"


def gray_photos(size) -> list[np.ndarray]:
    from PIL import Image
    from skimage import data

    height, width = size
    return [
        np.asarray(Image.fromarray(getattr(data, name)()).convert("L").resize((width, height), Image.BICUBIC))
        for name in PHOTOS
    ]


def runner(image_format: str, path: Path, threads: int):
    """`run(gray (H, W) uint8) -> rgb (H, W, 3) uint8` for an exported file."""
    if image_format == "onnx":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda gray: session.run(None, {name: gray[None, ..., None]})[0][0]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        import tensorflow as tf

        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        Interpreter = tf.lite.Interpreter
    lite = Interpreter(model_path=str(path), num_threads=threads)
    lite.allocate_tensors()
    (given,), (returned,) = lite.get_input_details(), lite.get_output_details()

    def run(gray):
        lite.set_tensor(given["index"], gray[None, ..., None])
        lite.invoke()
        return lite.get_tensor(returned["index"])[0]

    return run


def measure(model: str, size, folder: Path, repeats: int, threads: int) -> list[dict]:
    import colornet
    from colornet.color import to_uint8
    from colornet.export import export_model

    grays = gray_photos(size)
    colorizer = colornet.load_colorizer(model)
    expected = [to_uint8(colornet.colorize(g, model=colorizer)) for g in grays]
    rows = []
    for image_format, quantize in EXPORTS:
        start = time.perf_counter()
        out = folder / f"{model}_{image_format}_{quantize}"
        info = export_model(model, image_format, out, size=size, quantize=quantize)
        export_s = time.perf_counter() - start
        run = runner(image_format, out / info["file"], threads)
        diffs = [float(np.abs(run(g).astype(np.float32) - e).mean()) for g, e in zip(grays, expected)]
        for _ in range(2):
            run(grays[0])
        times = []
        for i in range(repeats):
            start = time.perf_counter()
            run(grays[i % len(grays)])
            times.append(time.perf_counter() - start)
        rows.append(
            {
                "model": model,
                "format": image_format,
                "quantize": quantize,
                "mb": (out / info["file"]).stat().st_size / 1e6,
                "ms": 1000 * statistics.median(times),
                "diff_levels": float(np.mean(diffs)),
                "export_s": export_s,
            }
        )
        print(
            f"  {model} {image_format} {quantize}: {rows[-1]['mb']:.2f} MB, {rows[-1]['ms']:.1f} ms, "
            f"{rows[-1]['diff_levels']:.2f} levels (exported in {export_s:.0f} s)",
            flush=True,
        )
    for row in rows:  # against the float32 export of the same format, made above
        base = next(r for r in rows if r["format"] == row["format"] and r["quantize"] == "float32")
        row["size_fraction"] = row["mb"] / base["mb"]
        row["speed_ratio"] = base["ms"] / row["ms"]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["features", "beta"], help="provided weights by name")
    parser.add_argument("--size", default="512x512", help="WIDTHxHEIGHT of the exports (default: 512x512)")
    parser.add_argument("--repeats", type=int, default=10, help="timed runs of each export (default: 10)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="interpreter threads")
    parser.add_argument("--quick", action="store_true", help="beta at 256x256, 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.models, args.size, args.repeats = ["beta"], "256x256", 3
    width, height = (int(v) for v in args.size.lower().split("x"))
    load = os.getloadavg()[0]
    print(
        f"{cpu_name()}, {os.cpu_count()} cores, load average {load:.1f}; exports at {width}x{height}",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            rows += measure(model, (height, width), Path(folder), args.repeats, args.threads)

    print()
    print(
        "| model | format | quantize | MB | / float32 | ms per photo | speed vs float32 | levels from colorize |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['model']} | {r['format']} | {r['quantize']} | {r['mb']:.1f} | {r['size_fraction']:.2f} | "
            f"{r['ms']:.0f} | {r['speed_ratio']:.2f}x | {r['diff_levels']:.2f} |"
        )
    result = {
        "benchmark": "export_quantize",
        "device": cpu_name(),
        "load_average": load,
        "size": [height, width],
    }
    for r in rows:
        key = f"{r['model']}_{r['format']}_{r['quantize']}"
        result[f"{key}_mb"] = round(r["mb"], 3)
        result[f"{key}_ms"] = round(r["ms"], 2)
        result[f"{key}_diff_levels"] = round(r["diff_levels"], 3)
        result[f"{key}_size_fraction"] = round(r["size_fraction"], 4)
        if r["quantize"] != "float32":
            result[f"ratio_speed_{key}"] = round(r["speed_ratio"], 3)
        if r["quantize"] == "int8":  # higher is better: float32 file / int8 file
            result[f"ratio_size_{r['model']}_int8"] = round(1 / r["size_fraction"], 3)
    result["targets"] = {f"ratio_size_{m}_int8": 3.0 for m in args.models}
    misses = [
        f"{r['model']} int8: {r['size_fraction']:.2f} of the float32 file, {r['diff_levels']:.2f} levels"
        for r in rows
        if r["quantize"] == "int8"
        and (
            r["size_fraction"] > TARGETS["int8_size_fraction"]
            or r["diff_levels"] > TARGETS["int8_diff_levels"]
        )
    ]
    print("\nint8 targets (at most 1/3 of the file, at most 3 levels): " + ("; ".join(misses) or "met"))
    print("BENCH_JSON " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
