r"""Training one PyTorch model on several processes with ``DistributedDataParallel``.

Explained in chapter 8. Each of the ``world_size`` processes holds a copy of the model
with the same initial weights and takes its own slice of every mini-batch. After its
backward pass, DDP *averages* the gradients over the processes (an all-reduce), so
every copy takes the same optimiser step, the step of the whole batch:

.. math:: \frac{1}{P} \sum_{p=1}^{P} \nabla_\theta \Bigl(\frac{1}{B/P}
          \sum_{i \in \text{slice } p} \ell_i\Bigr)
          = \nabla_\theta \Bigl(\frac{1}{B} \sum_{i=1}^{B} \ell_i\Bigr)

when the P slices have the same size B/P. So training on P processes equals training
on one process with the full batch, up to the order of floating-point additions.

:func:`train_distributed` starts the processes (``torch.multiprocessing``'s "spawn":
fresh interpreters that import this module, which is why the worker function lives in
cnnlib and not in a notebook) with the ``gloo`` backend on the CPU, or ``nccl`` with one
GPU per process when there are enough GPUs; :func:`train_single` runs the same steps
in this process on the full batches. Both return the final weights as a NumPy
``state_dict`` and the loss of every step.
"""
from __future__ import annotations

import datetime
import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from cnnlib._validate import as_int_array, check_positive_int

__all__ = ["free_port", "train_single", "train_distributed", "train_worker",
           "pick_backend"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pick_backend(world_size: int, device: str = "auto") -> tuple[str, str]:
    """("nccl", "cuda") when ``device`` allows CUDA and there is one GPU per process;
    ("gloo", "cpu") otherwise."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    enough = torch.cuda.is_available() and torch.cuda.device_count() >= world_size
    if device == "cuda" and not enough:
        raise RuntimeError(f"device='cuda' needs {world_size} GPUs (one per process); "
                           f"this machine has {torch.cuda.device_count()}")
    if device != "cpu" and enough and torch.distributed.is_nccl_available():
        return "nccl", "cuda"
    return "gloo", "cpu"


def _batches(n: int, batch_size: int, epochs: int, seed: int) -> list[np.ndarray]:
    """The index of every global mini-batch, epoch after epoch (the last, smaller
    batch of an epoch is dropped so that every batch splits evenly)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(epochs):
        order = rng.permutation(n)
        out += [order[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
    return out


def _run_steps(model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor, config: dict,
               rank: int, world_size: int, reduce_loss: Callable | None) -> list[float]:
    """SGD on this process's slice of every global batch; returns the batch losses."""
    opt = torch.optim.SGD(model.parameters(), lr=config["lr"],
                          momentum=config["momentum"])
    per = config["batch_size"] // world_size
    losses = []
    for idx in _batches(len(X), config["batch_size"], config["epochs"], config["seed"]):
        mine = torch.as_tensor(idx[rank * per:(rank + 1) * per], device=X.device)
        loss = torch.nn.functional.cross_entropy(model(X[mine]), y[mine])
        opt.zero_grad()
        loss.backward()               # DDP all-reduces (averages) the gradients here
        opt.step()
        value = loss.detach()
        if reduce_loss is not None:   # the mean of the slices' losses = the batch's
            value = reduce_loss(value)
        losses.append(float(value))
    return losses


def _check_config(X, y, batch_size, epochs, lr, momentum, world_size, dtype) -> dict:
    X = np.asarray(X)
    if X.ndim < 2 or not np.issubdtype(X.dtype, np.floating):
        raise ValueError(f"X must be a float array of shape (N, ...), got dtype "
                         f"{X.dtype} and shape {X.shape}")
    y = as_int_array(y, "y", ndim=1)
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    batch_size = check_positive_int(batch_size, "batch_size")
    world_size = check_positive_int(world_size, "world_size")
    if batch_size % world_size:
        raise ValueError(f"batch_size ({batch_size}) must be divisible by world_size "
                         f"({world_size}) so that every process gets the same share")
    if batch_size > len(X):
        raise ValueError(f"batch_size ({batch_size}) is larger than the data ({len(X)})")
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    return dict(batch_size=batch_size, epochs=check_positive_int(epochs, "epochs"),
                lr=float(lr), momentum=float(momentum), world_size=world_size)


def _state_numpy(model: torch.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().copy() for k, v in model.state_dict().items()}


def _build(model_fn: Callable, model_kwargs: dict, state: dict | None,
           dtype: torch.dtype, device: str) -> torch.nn.Module:
    model = model_fn(**model_kwargs).to(dtype=dtype, device=device)
    if state is not None:
        from cnnlib.twins.convert import state_to_torch
        state_to_torch(state, model)
    return model


def train_single(model_fn: Callable, X, y, *, state: dict | None = None,
                 model_kwargs: dict | None = None, batch_size: int = 64,
                 epochs: int = 1, lr: float = 0.05, momentum: float = 0.9,
                 seed: int = 0, dtype: torch.dtype = torch.float64,
                 device: str = "cpu") -> tuple[dict[str, np.ndarray], list[float]]:
    """Train ``model_fn(**model_kwargs)`` (starting from ``state``, a NumPy state_dict,
    when given) with SGD on full batches in this process: the reference that
    :func:`train_distributed` must match. Returns (final state_dict, batch losses)."""
    config = _check_config(X, y, batch_size, epochs, lr, momentum, 1, dtype)
    config["seed"] = seed
    model = _build(model_fn, model_kwargs or {}, state, dtype, device)
    Xt = torch.as_tensor(np.asarray(X), dtype=dtype, device=device)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.int64, device=device)
    losses = _run_steps(model, Xt, yt, config, 0, 1, None)
    return _state_numpy(model), losses


def train_worker(rank: int, world_size: int, port: int, backend: str, device: str,
                 model_fn: Callable, model_kwargs: dict, state: dict | None, X, y,
                 config: dict, dtype: torch.dtype, out_dir: str, timeout_s: float) -> None:
    """The function each spawned process runs (``rank`` 0 .. world_size - 1): join the
    process group, wrap the model in DDP, train, and (rank 0) save the weights and
    losses into ``out_dir``. Importable by a fresh interpreter, as "spawn" needs."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    torch.set_num_threads(1)         # P processes share the cores: one thread each
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world_size,
                            timeout=datetime.timedelta(seconds=timeout_s))
    try:
        where = f"cuda:{rank}" if device == "cuda" else "cpu"
        if device == "cuda":
            torch.cuda.set_device(rank)
        model = _build(model_fn, model_kwargs, state, dtype, where)
        ddp = DDP(model, device_ids=[rank] if device == "cuda" else None)
        Xt = torch.as_tensor(X, dtype=dtype, device=where)
        yt = torch.as_tensor(y, dtype=torch.int64, device=where)

        def mean_over_processes(value: torch.Tensor) -> torch.Tensor:
            dist.all_reduce(value, op=dist.ReduceOp.SUM)
            return value / world_size

        losses = _run_steps(ddp, Xt, yt, config, rank, world_size, mean_over_processes)
        if rank == 0:
            np.savez(Path(out_dir) / "state.npz", **_state_numpy(model))
            np.save(Path(out_dir) / "losses.npy", np.asarray(losses))
    finally:
        dist.destroy_process_group()


def train_distributed(model_fn: Callable, X, y, *, state: dict | None = None,
                      model_kwargs: dict | None = None, world_size: int = 2,
                      batch_size: int = 64, epochs: int = 1, lr: float = 0.05,
                      momentum: float = 0.9, seed: int = 0,
                      dtype: torch.dtype = torch.float64, device: str = "auto",
                      timeout_s: float = 120.0
                      ) -> tuple[dict[str, np.ndarray], list[float]]:
    """Train ``model_fn(**model_kwargs)`` with DistributedDataParallel on
    ``world_size`` processes, each taking ``batch_size / world_size`` examples of every
    global batch (same batches, same order as :func:`train_single`).

    model_fn : a function importable by name (e.g. :func:`cnnlib.twins.lenet.lenet5`)
        that builds the torch model; every process builds one and loads ``state``.
    state : the initial weights as a NumPy state_dict (all processes start from them;
        without it DDP copies rank 0's random initial weights to the others).
    device : "auto" (one GPU per process when there are enough, with nccl; else CPU
        with gloo), "cpu" or "cuda".
    timeout_s : the processes are stopped, and ``TimeoutError`` raised, after this long.

    Returns (final state_dict as NumPy arrays, the loss of every global batch).
    """
    config = _check_config(X, y, batch_size, epochs, lr, momentum, world_size, dtype)
    config["seed"] = seed
    backend, dev = pick_backend(config["world_size"], device)
    X = np.ascontiguousarray(X)
    y = np.asarray(y, dtype=np.int64)
    with tempfile.TemporaryDirectory(prefix="cnnlib-ddp-") as out_dir:
        args = (config["world_size"], free_port(), backend, dev, model_fn,
                model_kwargs or {}, state, X, y, config, dtype, out_dir, float(timeout_s))
        ctx = torch.multiprocessing.start_processes(
            train_worker, args=args, nprocs=config["world_size"], join=False,
            start_method="spawn")
        deadline = time.monotonic() + timeout_s
        try:
            while not ctx.join(timeout=0.5):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the {config['world_size']} training processes "
                                       f"did not finish within {timeout_s:.0f} s")
        finally:
            for p in ctx.processes:
                if p.is_alive():
                    p.terminate()
                    p.join(5)
        with np.load(os.path.join(out_dir, "state.npz")) as f:
            final = {k: f[k] for k in f.files}
        losses = np.load(os.path.join(out_dir, "losses.npy")).tolist()
    return final, losses
