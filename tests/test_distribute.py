"""Distribution: strategy names and TF_CONFIG checked up front; MirroredStrategy over two logical
CPU devices and two workers on 127.0.0.1 train like one device; only the chief writes."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from colornet.distribute import WorkerInfo, choose_strategy, read_tf_config, wait_for, worker_info
from colornet.errors import DistributeError

ROOT = Path(__file__).resolve().parent.parent


def test_tf_config_is_checked():
    good = {
        "cluster": {"worker": ["127.0.0.1:2222", "127.0.0.1:2223"]},
        "task": {"type": "worker", "index": 1},
    }
    assert read_tf_config({"TF_CONFIG": json.dumps(good)}) == good
    assert read_tf_config({}) is None
    bad = {
        "{not json": "not valid JSON",
        json.dumps({"task": {"type": "worker", "index": 0}}): "no 'cluster'",
        json.dumps({"cluster": {"worker": ["127.0.0.1:2222"]}}): "no 'task'",
        json.dumps({**good, "task": {"type": "worker", "index": 2}}): "is not in the cluster",
        json.dumps({"cluster": {"worker": ["localhost"]}, "task": {"type": "worker", "index": 0}}): "not host:port",
        json.dumps({"cluster": {"ps": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}): "'chief' and 'worker'",
    }  # fmt: skip
    for text, message in bad.items():
        with pytest.raises(DistributeError, match=message) as err:
            read_tf_config({"TF_CONFIG": text})
        assert "\n" not in str(err.value)


def test_strategy_names_are_checked(monkeypatch):
    with pytest.raises(DistributeError, match="unknown strategy 'tpu'; use one of auto, one, mirrored"):
        choose_strategy("tpu")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(DistributeError, match="needs the TF_CONFIG environment variable"):
        choose_strategy("multiworker")
    one = choose_strategy("auto")  # no GPU, no TF_CONFIG: one device
    assert worker_info(one) == WorkerInfo()
    assert WorkerInfo(workers=3, index=2).shard == (3, 2) and WorkerInfo().shard is None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_chief_is_one_line():
    port = free_port()  # nothing listens there
    with pytest.raises(DistributeError, match=f"cannot reach the chief at 127.0.0.1:{port} within 1 s"):
        wait_for(f"127.0.0.1:{port}", timeout=1)


# --- real training in other processes (TensorFlow's devices are fixed when it starts) -------------

SCRIPT = textwrap.dedent(
    """
    import os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpus = int(os.environ.get("LOGICAL_CPUS", "1"))
    if cpus > 1:
        tf.config.set_logical_device_configuration(
            tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * cpus
        )
    from colornet.cli import main
    sys.exit(main(sys.argv[1:]))
    """
)


def run_training(tmp_path, out, *args, env=None):
    """`python -m colornet train beta` in a fresh process, started; see `finish`."""
    if "LOGICAL_CPUS" in (env or {}):  # devices are set up before the command runs
        script = tmp_path / "train_script.py"
        script.write_text(SCRIPT)
        start = [sys.executable, str(script)]
    else:  # the command as users run it
        start = [sys.executable, "-m", "colornet"]
    command = [
        *start,
        "train",
        "beta",
        "--width",
        "0.125",
        "--size",
        "16",
        "--epochs",
        "1",
    ]
    command += [
        "--precision",
        "float32",
        "--no-augment",
        "--verbose",
        "0",
        "--out",
        str(out),
        *map(str, args),
    ]
    environ = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    environ.update({"PYTHONPATH": str(ROOT), **(env or {})})
    return subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, timeout=240):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def cluster_data(tmp_path_factory):
    from conftest import make_photo_folder

    root = tmp_path_factory.mktemp("cluster")
    make_photo_folder(root / "train", n=16, size=24, seed=1)
    make_photo_folder(root / "val", n=4, size=24, seed=2)
    return root


def history(out) -> list[float]:
    return json.loads((Path(out) / "state.json").read_text())["history"]["loss"]


@pytest.mark.slow
def test_mirrored_over_two_cpu_devices_matches_one_device(cluster_data, tmp_path):
    data = ("--data", cluster_data / "train", "--val", cluster_data / "val", "--seed", "3")
    code, out, err = finish(
        run_training(tmp_path, tmp_path / "one", *data, "--batch-size", "8", "--strategy", "one")
    )
    assert code == 0, err
    code, out, err = finish(
        run_training(
            tmp_path,
            tmp_path / "two",
            *data,
            "--batch-size",
            "4",
            "--strategy",
            "mirrored",
            env={"LOGICAL_CPUS": "2"},
        )
    )
    assert code == 0, err
    assert "strategy mirrored, 2 replica(s) x batch 4 = global batch 8" in out
    state = json.loads((tmp_path / "two" / "state.json").read_text())
    assert state["strategy"] == "mirrored" and state["replicas"] == 2 and state["global_batch_size"] == 8
    # The same photos in the same global batches from the same start: the same model after the
    # epoch (validation loss), and training losses that differ only by the random crops.
    one, two = (json.loads((tmp_path / r / "state.json").read_text())["history"] for r in ("one", "two"))
    np.testing.assert_allclose(two["val_loss"], one["val_loss"], rtol=1e-3)
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=0.03)
    # Resuming under the strategy goes on from the checkpoint.
    code, out, err = finish(
        run_training(
            tmp_path, tmp_path / "two", *data, "--batch-size", "4", "--strategy", "mirrored", "--epochs", "2",
            env={"LOGICAL_CPUS": "2"},
        )
    )  # fmt: skip
    assert code == 0, err
    assert "Resuming" in out and len(history(tmp_path / "two")) == 2


@pytest.mark.slow
def test_two_workers_on_localhost_train_together_and_only_the_chief_writes(cluster_data, tmp_path):
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    data = ("--data", cluster_data / "train", "--val", cluster_data / "val", "--batch-size", "4")
    workers = [
        run_training(
            tmp_path, tmp_path / f"out{i}", *data, "--strategy", "multiworker", "--connect-timeout", "60",
            env={"TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})},
        )
        for i in range(2)
    ]  # fmt: skip
    results = [finish(w) for w in workers]
    for code, _out, err in results:
        assert code == 0, err[-3000:]
    chief_out, worker_out = results[0][1], results[1][1]
    assert "worker 0 of 2 reads 8" in chief_out and "global batch 8" in chief_out
    assert "Done: worker 1 of 2" in worker_out
    assert (tmp_path / "out0" / "best.weights.h5").exists() and (tmp_path / "out0" / "samples").is_dir()
    assert not (tmp_path / "out1").exists()  # the other worker writes nothing
    losses = history(tmp_path / "out0")
    assert len(losses) == 1 and np.isfinite(losses[0])
    # One device on the same photos and global batch: losses of the same size (the shards differ in order).
    code, out, err = finish(run_training(tmp_path, tmp_path / "single", *data[:4], "--batch-size", "8"))
    assert code == 0, err
    assert abs(losses[0] - history(tmp_path / "single")[0]) < 0.5 * history(tmp_path / "single")[0]


@pytest.mark.slow
def test_bad_tf_config_and_unreachable_chief_end_in_one_line(cluster_data, tmp_path):
    data = ("--data", cluster_data / "train", "--val", cluster_data / "val")
    code, out, err = finish(
        run_training(
            tmp_path, tmp_path / "bad", *data, "--strategy", "multiworker", env={"TF_CONFIG": "{oops"}
        )
    )
    assert code == 2 and "TF_CONFIG is not valid JSON" in err and len(err.strip().splitlines()) == 1
    ports = [free_port(), free_port()]
    config = {
        "cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
        "task": {"type": "worker", "index": 1},
    }
    code, out, err = finish(
        run_training(
            tmp_path, tmp_path / "lonely", *data, "--strategy", "multiworker", "--connect-timeout", "2",
            env={"TF_CONFIG": json.dumps(config)},
        )
    )  # fmt: skip
    assert code == 2, err
    assert f"cannot reach the chief at 127.0.0.1:{ports[0]} within 2 s" in err
    assert len(err.strip().splitlines()) == 1
    # The first worker, alone: it cannot know the others are missing until the time is up.
    config["task"]["index"] = 0
    code, out, err = finish(
        run_training(
            tmp_path, tmp_path / "alone", *data, "--strategy", "multiworker", "--connect-timeout", "3",
            env={"TF_CONFIG": json.dumps(config)},
        )
    )  # fmt: skip
    assert code == 1, err  # an error status, not the SIGKILL (-9) of a process stuck in native code
    assert f"did not gather within 3 s (waiting for 127.0.0.1:{ports[1]})" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "alone" / "best.weights.h5").exists()
