"""What the terminal shows: native libraries' start-up lines held back unless something fails."""

import contextlib
import os
import sys
import tempfile


@contextlib.contextmanager
def quiet_native_stderr():
    """Hold back what native code writes to file descriptor 2 (TensorFlow prints start-up
    lines there before any log level applies); show it only if the block fails."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            held.seek(0)
            sys.stderr.write(held.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def quiet_tensorflow() -> None:
    """Import TensorFlow without its start-up lines (oneDNN, CUDA, cpu_feature_guard) and keep its
    later C++ log lines (cuInit, XLA) out of the output, as the command line does; a notebook
    calls it before anything imports TensorFlow. `TF_CPP_MIN_LOG_LEVEL` set by the user wins.
    TensorFlow's Python warnings (a `tf.function` retraced after several training runs in one
    session) are held back too; errors still show."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with quiet_native_stderr():
        import tensorflow

    if os.environ["TF_CPP_MIN_LOG_LEVEL"].strip() in ("2", "3"):  # warnings held back, as for C++
        tensorflow.get_logger().setLevel("ERROR")
