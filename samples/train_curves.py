"""A training run with something to look at in `amlexec history serve`: a loss curve over steps, Precision and
Recall logged as lists (as Workbench's Iris sample did), and two images in outputs/ (a PNG heat map of the
confusion matrix and an SVG curve). Standard library only, so it runs on any target.

    amlexec experiment submit -c local samples/train_curves.py --lr 0.1 --epochs 40
    amlexec history serve --open
"""

import argparse
import math
import os
import random
import struct
import sys
import time
import zlib

from amlexec.logging import get_logger

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1, help="learning rate")
parser.add_argument("--epochs", type=int, default=40)
parser.add_argument("--seed", type=int, default=1)
parser.add_argument("--sleep", type=float, default=0.0, help="seconds per epoch (to watch a run live)")
args = parser.parse_args()

rng = random.Random(args.seed)
logger = get_logger()
loss = 2.0
for epoch in range(args.epochs):
    loss = loss * (1 - min(args.lr, 0.9) * 0.3) + rng.uniform(0, 0.02)
    logger.log("loss", loss)
    print(f"epoch {epoch + 1}/{args.epochs}: loss {loss:.4f}", flush=True)
    if args.sleep:
        time.sleep(args.sleep)

accuracy = max(0.0, min(1.0, 1 - loss / 2 + rng.uniform(-0.02, 0.02)))
logger.log("Accuracy", accuracy)
thresholds = [i / 53 for i in range(54)]
logger.log("Precision", [min(1.0, accuracy + (1 - accuracy) * t) for t in thresholds])
logger.log("Recall", [max(0.0, 1 - t ** (1 + accuracy)) for t in thresholds])
print(f"accuracy {accuracy:.3f}")


def png(width: int, height: int, pixel) -> bytes:
    """A truecolor PNG, written by hand so the sample needs no imaging library."""
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def heat(x: int, y: int) -> tuple[int, int, int]:
    cell = (x // 40, y // 40)
    share = accuracy if cell[0] == cell[1] else (1 - accuracy) / 2
    return (int(255 * (1 - share)), int(255 * (1 - share / 2)), 255)


os.makedirs("outputs", exist_ok=True)
with open("outputs/cm.png", "wb") as fh:
    fh.write(png(120, 120, heat))
points = " ".join(f"{10 + 180 * r:.1f},{190 - 180 * p:.1f}" for p, r in
                  zip([min(1.0, accuracy + (1 - accuracy) * t) for t in thresholds],
                      [max(0.0, 1 - t ** (1 + accuracy)) for t in thresholds], strict=True))
with open("outputs/roc.svg", "w") as fh:
    fh.write('<svg xmlns="http://www.w3.org/2000/svg" width="200" height="200">'
             f'<rect width="200" height="200" fill="white"/><polyline points="{points}" fill="none" '
             'stroke="#0366d6" stroke-width="2"/></svg>\n')
sys.exit(0 if math.isfinite(loss) else 1)
