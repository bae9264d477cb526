"""A tiny experiment: fit y = a*x + b by gradient descent, log metrics, save the model to outputs/."""

import argparse
import json
import os
import random

from amlexec.logging import get_logger

parser = argparse.ArgumentParser()
parser.add_argument("--learning-rate", type=float, default=0.05)
parser.add_argument("--epochs", type=int, default=200)
args = parser.parse_args()

random.seed(7)
points = [(x / 10, 3.0 * x / 10 + 1.0 + random.gauss(0, 0.1)) for x in range(50)]

a = b = 0.0
losses = []
for epoch in range(args.epochs):
    grad_a = sum(2 * (a * x + b - y) * x for x, y in points) / len(points)
    grad_b = sum(2 * (a * x + b - y) for x, y in points) / len(points)
    a -= args.learning_rate * grad_a
    b -= args.learning_rate * grad_b
    if epoch % 20 == 0:
        losses.append(sum((a * x + b - y) ** 2 for x, y in points) / len(points))

mse = sum((a * x + b - y) ** 2 for x, y in points) / len(points)
print(f"learning rate {args.learning_rate}: a={a:.3f} b={b:.3f} mse={mse:.5f}")
print("EXAMPLE_ENV_VAR =", os.environ.get("EXAMPLE_ENV_VAR"))

logger = get_logger()
logger.log("learning_rate", args.learning_rate)
logger.log("mse", mse)
logger.log("loss", losses)

os.makedirs("outputs", exist_ok=True)
with open("outputs/model.json", "w") as fh:
    json.dump({"a": a, "b": b}, fh)
