"""Distributed deep learning on Spark (Workshop 03): data shards, barrier-mode picture, timings.

Functions here run inside TorchDistributor's processes too, so they import torch lazily.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from .storage import filesystem, list_files

# A barrier stage that cannot get all its slots is retried 40 times, 15 s apart, by default:
# ten minutes before the error. For the lesson, give up after one check.
FAIL_FAST_BARRIER = {
    "spark.scheduler.barrier.maxConcurrentTasksCheck.interval": "1s",
    "spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures": "1",
}
# What PyTorch's processes read from their environment: one OpenMP thread each (else torchrun
# warns on every run), and C++ log lines for errors only (else a rank that ends first can leave
# "[W ... TCPStore.cpp] ... Connection was likely closed" in the cell).
QUIET_TRAINING_ENV = {"OMP_NUM_THREADS": "1", "TORCH_CPP_LOG_LEVEL": "ERROR"}
# Executors do not inherit the notebook's environment (on a cluster, the workers start them):
# with local_mode=False, TorchDistributor streams their output into the cell.
QUIET_EXECUTORS = {f"spark.executorEnv.{name}": value for name, value in QUIET_TRAINING_ENV.items()}
HOROVOD_ADVICE = "build it once with `make horovod` (about 6 min), restart the kernel, run again."


def write_shards(frame, folder: str, files: int) -> str:
    """Write a Spark DataFrame as exactly `files` Parquet files (one per shard) and return the folder."""
    frame.repartition(files).write.mode("overwrite").parquet(folder)
    return folder


def shard_files(folder: str, rank: int, world_size: int) -> list[str]:
    """The Parquet files rank `rank` of `world_size` reads: every world_size-th one."""
    files = list_files(folder, ".parquet")
    if len(files) < world_size:
        raise ValueError(f"{folder} has {len(files)} files, fewer than {world_size} processes")
    return files[rank::world_size]


def load_shard(folder: str, rank: int, world_size: int, features: str = "x", label: str = "label"):
    """This rank's rows as float32 tensors (features, label)."""
    import pyarrow.parquet as pq
    import torch

    files = shard_files(folder, rank, world_size)
    system, _ = filesystem(files[0])
    table = pq.ParquetDataset([filesystem(file)[1] for file in files], filesystem=system).read()
    x = np.stack(table.column(features).to_numpy(zero_copy_only=False)).astype(np.float32)
    y = table.column(label).to_numpy().astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def quiet_distributed_training() -> None:
    """Keep torchrun's and TorchDistributor's chatter out of notebook cells (QUIET_EXECUTORS
    does the same for the executors, once passed to the SparkSession)."""
    import logging

    for name, value in QUIET_TRAINING_ENV.items():
        os.environ.setdefault(name, value)
    # TorchDistributor resets its logger to INFO and adds a stderr handler unless it has one:
    # give it one that shows warnings and errors only.
    distributor_log = logging.getLogger("TorchDistributor")
    if not distributor_log.handlers:
        warnings_only = logging.StreamHandler(sys.stderr)
        warnings_only.setLevel(logging.WARNING)
        distributor_log.addHandler(warnings_only)
    distributor_log.propagate = False


def skip_interpreter_teardown() -> None:
    """End this training process as soon as Python starts to exit, skipping its teardown.

    With gloo, a C++ thread can abort the process during interpreter teardown ("terminate called
    without an active exception", SIGABRT) after the training function has returned and its
    result is saved (PyTorch PR 179291); the launcher then reports a failed rank. Call this at the
    end of a training function, after destroy_process_group(); never in the notebook's kernel.
    """
    import atexit

    def leave() -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)

    atexit.register(leave)


def _rank_main(payload: bytes, rank: int, world_size: int, port: int, results) -> None:
    import cloudpickle
    import torch
    import torch.distributed as dist

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        function, shards = cloudpickle.loads(payload)
        value = function(*(torch.from_numpy(array) for array in shards[rank]))
        results.put((rank, "ok", float(value)))
    except Exception as error:  # noqa: BLE001 - reported to the caller
        results.put((rank, "error", f"{type(error).__name__}: {error}"))
    finally:
        dist.destroy_process_group()
        results.close()
        results.join_thread()  # the result is sent before the process leaves
        skip_interpreter_teardown()


def run_on_ranks(function, shards: list[tuple], timeout: float = 90) -> dict[int, tuple[str, object]]:
    """Call `function(*tensors)` in one gloo process per shard (NumPy arrays, as tensors), as DDP's
    ranks would: {rank: ("ok", number) or ("error", message)}; a rank that hangs is missing."""
    import multiprocessing
    import queue

    import cloudpickle

    from .cluster import free_port

    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    world_size, port = len(shards), free_port()
    payload = cloudpickle.dumps((function, shards))
    processes = [context.Process(target=_rank_main, args=(payload, rank, world_size, port, results))
                 for rank in range(world_size)]
    for process in processes:
        process.start()
    outcome = {}
    try:
        for _ in processes:
            rank, status, value = results.get(timeout=timeout)
            outcome[rank] = (status, value)
    except queue.Empty:
        pass
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
    return outcome


def horovod_status() -> tuple[bool, str]:
    """Whether Horovod with PyTorch and Spark support imports here, and if not, what to do."""
    try:
        import horovod.spark  # noqa: F401
        import horovod.torch  # noqa: F401
    except ImportError as error:
        return False, f"{error}; {HOROVOD_ADVICE}"
    return True, ""


def plot_barrier_phases(tasks: int = 3, ax=None):
    """Project Hydrogen's three phases: independent load tasks, a gang of tasks that talk, a sink."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.2))
    phases = [
        ("1. load (map)", "independent tasks:\nread, prepare, shard;\none may retry alone", 0.0),
        ("2. gang (barrier)", "all start together,\nexchange gradients;\none fails, all restart", 3.4),
        ("3. sink", "write the model,\nmetrics, predictions", 6.8),
    ]
    colours = ["#8fb8de", "#f4a259", "#9bc99b"]
    for (title, text, x), colour in zip(phases, colours, strict=True):
        ax.text(x + 1.2, tasks + 0.9, title, ha="center", fontsize=11, weight="bold")
        ax.text(x + 1.2, -0.65, text, ha="center", va="top", fontsize=8.5)
        rows = range(tasks) if x < 6 else [tasks // 2]
        for row in rows:
            ax.add_patch(FancyBboxPatch((x + 0.3, row + 0.15), 1.8, 0.6, boxstyle="round,pad=0.05",
                                        fc=colour, ec="black", lw=0.8))
            ax.text(x + 1.2, row + 0.45, "task" if x < 6 else "driver / storage", ha="center",
                    va="center", fontsize=8)
    for low, high in zip(range(tasks - 1), range(1, tasks), strict=True):  # the all-reduce ring
        ax.add_patch(FancyArrowPatch((5.5, low + 0.45), (5.5, high + 0.45), arrowstyle="<->",
                                     connectionstyle="arc3,rad=-0.6", mutation_scale=10,
                                     color="#b5562a", lw=1.2))
    ax.text(5.85, tasks - 0.2, "all-reduce", fontsize=8, color="#b5562a")
    ax.plot([3.5, 3.5], [-0.1, tasks + 0.3], ls="--", color="grey", lw=1)
    ax.text(3.55, tasks + 0.35, "barrier: wait for all slots", fontsize=8, color="grey")
    for x in (2.25, 6.0):
        ax.add_patch(FancyArrowPatch((x, tasks / 2), (x + 0.8, tasks / 2), arrowstyle="->",
                                     mutation_scale=14, color="black"))
    ax.set(xlim=(-0.2, 9.6), ylim=(-1.9, tasks + 1.4))
    ax.axis("off")
    return ax
