"""Training on one device, several GPUs, or several machines, with `tf.distribute`.

    strategy = choose_strategy("auto")      # one device, MirroredStrategy or MultiWorkerMirroredStrategy
    with strategy.scope():
        model = design.build(); model.compile(...)
    worker = worker_info(strategy)          # chief or not, which shard of the files to read

- `one`: the default strategy (one CPU or one GPU).
- `mirrored`: `MirroredStrategy` over every GPU of this machine (or, without GPUs, every
  logical CPU device, which is how the tests run it).
- `multiworker`: `MultiWorkerMirroredStrategy` across machines described by the
  `TF_CONFIG` environment variable (see docs/training.md, "Train on GPUs and clusters").
- `auto`: `multiworker` when `TF_CONFIG` names more than one task, `mirrored` on a
  machine with several GPUs, else `one`.

The batch size a user gives is per replica; the global batch is that times the
replicas. Each worker of a cluster reads its own share of the files; only the chief
writes checkpoints, logs, sample strips and caches.
"""

import contextlib
import faulthandler
import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from colornet.console import quiet_native_stderr
from colornet.errors import DistributeError

STRATEGIES = ("auto", "one", "mirrored", "multiworker")
CONNECT_TIMEOUT = 300  # seconds a worker waits for the rest of the cluster


@dataclass(frozen=True)
class WorkerInfo:
    """Where this process stands in a (possibly one-process) cluster."""

    replicas: int = 1  # replicas in sync, over all workers
    workers: int = 1  # processes reading data
    index: int = 0  # this worker's index among them
    is_chief: bool = True  # the one that writes files
    kind: str = "one"  # one, mirrored or multiworker

    @property
    def shard(self) -> tuple[int, int] | None:
        """`(workers, index)` for `colornet.data.make_dataset(shard=...)`, or None for a single worker."""
        return (self.workers, self.index) if self.workers > 1 else None


def read_tf_config(environ=None) -> dict | None:
    """The parsed `TF_CONFIG`, checked; None when it is not set.

    Raises:
        DistributeError: malformed JSON, no `cluster`, or a `task` that is not in the cluster.
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    hint = (
        'set it to JSON like {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}'
    )
    try:
        config = json.loads(text)
    except ValueError as err:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({err}); {hint}.") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise DistributeError(f"TF_CONFIG has no 'cluster' with the machines' addresses; {hint}.")
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses:
            raise DistributeError(
                f"TF_CONFIG: cluster {job!r} must be a list of host:port addresses; {hint}."
            )
        for address in addresses:
            host, _, port = str(address).rpartition(":")
            if not host or not port.isdigit():
                raise DistributeError(f"TF_CONFIG: {address!r} in {job!r} is not host:port; {hint}.")
    task = config.get("task")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise DistributeError(f"TF_CONFIG has no 'task' saying which machine this is; {hint}.")
    job, index = task["type"], task["index"]
    if job not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[job]):
        raise DistributeError(
            f"TF_CONFIG: task {job!r} {index!r} is not in the cluster ({', '.join(cluster)}); {hint}."
        )
    if set(cluster) - {"chief", "worker"}:
        raise DistributeError(
            f"TF_CONFIG: MultiWorkerMirroredStrategy uses 'chief' and 'worker' jobs only, not "
            f"{', '.join(sorted(set(cluster) - {'chief', 'worker'}))}."
        )
    return config


def cluster_size(config: dict | None) -> int:
    if not config:
        return 1
    return sum(len(addresses) for addresses in config["cluster"].values())


def _coordination_leader(config: dict) -> str:
    cluster = config["cluster"]
    return cluster["chief"][0] if "chief" in cluster else cluster["worker"][0]


def wait_for(address: str, timeout: float) -> None:
    """Wait until something listens at `host:port`, or raise a one-line `DistributeError`."""
    host, _, port = address.rpartition(":")
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=min(5.0, max(0.1, timeout))):
                return
        except OSError as err:
            if time.monotonic() >= deadline:
                raise DistributeError(
                    f"cannot reach the chief at {address} within {timeout:.0f} s ({err.strerror or err}); "
                    "start the chief first, check TF_CONFIG's addresses and the firewall, or raise --connect-timeout."
                ) from None
            time.sleep(0.5)


def _multiworker(config: dict, timeout: float):
    import tensorflow as tf

    task = config["task"]
    leader = _coordination_leader(config)
    this = config["cluster"][task["type"]][task["index"]]
    if this != leader:
        wait_for(leader, timeout)  # the chief's server starts when it builds its strategy
    try:  # bound the time the cluster may take to gather (TensorFlow waits forever by default)
        from tensorflow.core.protobuf import coordination_config_pb2
        from tensorflow.python.eager import context

        context.context().configure_coordination_service(
            service_type="standalone",
            service_leader=f"/job:{'chief' if 'chief' in config['cluster'] else 'worker'}/replica:0/task:0",
            coordinated_jobs=[
                coordination_config_pb2.CoordinatedJob(name=job, num_tasks=len(addresses))
                for job, addresses in config["cluster"].items()
            ],
            cluster_register_timeout_in_ms=int(timeout * 1000),
        )
    except (ImportError, AttributeError):  # another TensorFlow: its defaults apply
        pass
    _patch_keras_for_multiworker()
    # TensorFlow waits for every task of the cluster without a limit, in native code that holds the
    # GIL: no Python thread or signal handler runs meanwhile, so `deadline` ends the process.
    others = [a for job in config["cluster"].values() for a in job if a != this]
    message = (
        f"colornet train: error: the cluster in TF_CONFIG did not gather within {timeout:.0f} s "
        f"(waiting for {', '.join(others)}); start every machine with the same TF_CONFIG cluster and "
        "its own task index, or raise --connect-timeout."
    )
    try:
        with deadline(timeout, message), quiet_native_stderr():  # the cluster runtime's start-up lines
            return tf.distribute.MultiWorkerMirroredStrategy(
                communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=timeout)
            )
    except (tf.errors.DeadlineExceededError, tf.errors.UnavailableError) as err:
        reason = str(err).strip().splitlines()[0][:160] if str(err).strip() else type(err).__name__
        raise DistributeError(
            f"the cluster in TF_CONFIG did not gather within {timeout:.0f} s ({reason}); start every worker "
            "with the same TF_CONFIG cluster and its own task index."
        ) from None


GRACE = 1.0  # seconds between the message and the end of the process, for the message to show


@contextlib.contextmanager
def deadline(timeout: float, message: str):
    """End this process with `message` (printed as one line) and exit status 1 if the block has not
    finished within `timeout` seconds; a block that finishes, or fails, in time goes on as usual.

    For waits in native code that hold the GIL, which no Python thread or signal handler can
    interrupt: faulthandler's timer is a C thread that needs no GIL, and ends the process with
    `_exit(1)` (its traceback goes nowhere). A small watcher process prints the message just
    before, which this process cannot do while it waits."""
    watcher = subprocess.Popen(
        [sys.executable, "-c", _WATCHER, repr(time.time() + timeout), message], stdin=subprocess.PIPE
    )
    nowhere = open(os.devnull, "w")
    faulthandler.dump_traceback_later(timeout + GRACE, exit=True, file=nowhere)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        nowhere.close()
        with contextlib.suppress(OSError):  # the block ended in time: the watcher leaves without a word
            watcher.stdin.write(b"done")
        with contextlib.suppress(OSError):
            watcher.stdin.close()
        watcher.wait()


# Run as `python -c _WATCHER DEADLINE MESSAGE`: print MESSAGE at the time DEADLINE, or when the
# process that started it ends after DEADLINE (this one started late), unless it says "done" first;
# one that ends before DEADLINE ended for another reason.
_WATCHER = """
import os, select, sys, time
deadline, message = float(sys.argv[1]), sys.argv[2]
ready, _, _ = select.select([sys.stdin], [], [], max(0.0, deadline - time.time()))
said = os.read(sys.stdin.fileno(), 16) if ready else b""
if not said.startswith(b"done") and time.time() >= deadline:
    sys.stderr.write(message + "\\n")
    sys.stderr.flush()
"""


def _patch_keras_for_multiworker() -> None:
    """Let Keras 3 report metrics under MultiWorkerMirroredStrategy.

    Keras averages each step's metrics over the replicas with `strategy.reduce("MEAN", v,
    axis=0)`, which fails for the scalar values it reduces (keras-team/keras#20585): average
    scalars over the replicas instead (axis None). Other strategies are left as they are."""
    import tensorflow as tf

    try:
        from keras.src import tree
        from keras.src.backend.tensorflow import trainer as keras_tf_trainer
    except ImportError:  # another Keras: nothing to patch
        return
    original = keras_tf_trainer.reduce_per_replica
    if getattr(original, "colornet_patched", False):
        return

    def reduce_per_replica(values, strategy, reduction):
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or reduction not in (
            "auto",
            "mean",
        ):
            return original(values, strategy, reduction)

        def mean(value):
            if not isinstance(value, tf.distribute.DistributedValues):
                return value
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return tree.map_structure(mean, values)

    reduce_per_replica.colornet_patched = True
    keras_tf_trainer.reduce_per_replica = reduce_per_replica


def choose_strategy(name: str = "auto", *, timeout: float = CONNECT_TIMEOUT):
    """A `tf.distribute.Strategy` by name; see the module docstring.

    Must be called before TensorFlow runs any operation (a cluster configures the runtime).

    Raises:
        DistributeError: an unknown name, `multiworker` without a usable `TF_CONFIG`, or a
            cluster that cannot be reached within `timeout` seconds.
    """
    import tensorflow as tf

    name = str(name).strip().lower().replace("-", "")
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}.")
    config = read_tf_config()
    if name == "auto":
        if cluster_size(config) > 1:
            name = "multiworker"
        elif len(tf.config.list_physical_devices("GPU")) > 1:
            name = "mirrored"
        else:
            name = "one"
    if name == "one":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices=devices)
    if config is None:
        raise DistributeError(
            "--strategy multiworker needs the TF_CONFIG environment variable on every machine "
            "(see docs/training.md, 'Train on GPUs and clusters')."
        )
    return _multiworker(config, timeout)


def will_be_chief(name: str = "auto") -> bool:
    """Whether this process will write the run folder, known before the strategy is set up: True
    unless strategy `name` makes it a task of a cluster (TF_CONFIG) other than the chief."""
    config = read_tf_config()
    if str(name).strip().lower().replace("-", "") not in ("auto", "multiworker") or cluster_size(config) < 2:
        return True
    task, cluster = config["task"], config["cluster"]
    return task["type"] == ("chief" if "chief" in cluster else "worker") and task["index"] == 0


def worker_info(strategy) -> WorkerInfo:
    """Replicas, workers, this worker's index and whether it is the chief, for `strategy`."""
    import tensorflow as tf

    replicas = int(strategy.num_replicas_in_sync)
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        resolver = strategy.cluster_resolver
        spec = resolver.cluster_spec().as_dict()
        jobs = [job for job in ("chief", "worker") if job in spec]
        order = [(job, i) for job in jobs for i in range(len(spec[job]))]
        index = order.index((resolver.task_type, int(resolver.task_id)))
        return WorkerInfo(
            replicas=replicas,
            workers=len(order),
            index=index,
            is_chief=index == 0,
            kind="multiworker",
        )
    kind = "mirrored" if isinstance(strategy, tf.distribute.MirroredStrategy) else "one"
    return WorkerInfo(replicas=replicas, kind=kind)
