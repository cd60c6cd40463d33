#!/usr/bin/env python
"""The spread of chapter 12's zero-shot accuracies over seeds.

    python benchmarks/clip_seeds.py               # seeds 0-4 on the GPU if present
    python benchmarks/clip_seeds.py --seeds 0 1 2 --device cpu
    python benchmarks/clip_seeds.py --text-hidden 128   # the text encoder with an MLP
    python benchmarks/clip_seeds.py --image-relu        # a ReLU after the image encoder

Each seed draws its own captioned shapes, trains the small CLIP of chapter 12 with the
chapter's settings, and measures zero-shot accuracy per attribute on 1,000 images of
seen shape-colour pairs and 1,000 of held-out ones. Prints one row per seed, then the
mean, standard deviation and range of each column: the numbers the chapter quotes.
Not a test: it takes about a minute per seed on a CPU. Like the chapter it trains on
one thread (``--threads``) with NumPy's own thread pools at one thread: on a small
machine, NumPy's threads and PyTorch's compete, and every step waits for both.
"""
from __future__ import annotations

import argparse
import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import numpy as np  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--text-hidden", type=int, default=None,
                   help="put an MLP of this width after the bag of words (default: none)")
    p.add_argument("--image-relu", action="store_true",
                   help="put a ReLU after the image encoder's last layer (default: none)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)

    import torch
    torch.set_num_threads(args.threads)
    from cnnlib.twins.clip_shapes import ATTRIBUTE_CHANCE, train_and_report

    columns = ["pair (36 classes)", "shape", "colour", "position", "size", "shape and colour"]
    rows = {"seen": [], "held-out": []}
    seconds = []
    print(f"PyTorch {torch.__version__}, device {args.device or ('cuda' if torch.cuda.is_available() else 'cpu')}, "
          f"{torch.get_num_threads()} threads, {args.epochs} epochs, text encoder: "
          f"{'MLP of ' + str(args.text_hidden) if args.text_hidden else 'linear bag of words'}"
          f"{', ReLU after the image encoder' if args.image_relu else ''}")
    for seed in args.seeds:
        out = train_and_report(seed, epochs=args.epochs, text_hidden=args.text_hidden,
                               image_relu=args.image_relu, device=args.device)
        seconds.append(out["seconds"])
        for part in rows:
            rows[part].append([out[part][c] for c in columns])
        print(f"seed {seed}: training {out['seconds']:.0f} s; " + "; ".join(
            f"{part}: " + ", ".join(f"{c} {v:.3f}" for c, v in zip(columns, rows[part][-1]))
            for part in rows), flush=True)
    print("\n| accuracy | chance | seen: mean ± sd (range) | held-out: mean ± sd (range) |")
    print("|---|---:|---:|---:|")
    for k, c in enumerate(columns):
        chance = ATTRIBUTE_CHANCE.get(c, 1 / 36)
        cells = []
        for part in rows:
            v = np.array(rows[part])[:, k]
            cells.append(f"{v.mean():.2f} ± {v.std(ddof=1) if len(v) > 1 else 0:.2f} "
                         f"({v.min():.2f}-{v.max():.2f})")
        print(f"| {c} | {chance:.2f} | {cells[0]} | {cells[1]} |")
    print(f"\ntraining time: {np.mean(seconds):.0f} s per seed (range {min(seconds):.0f}-"
          f"{max(seconds):.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
