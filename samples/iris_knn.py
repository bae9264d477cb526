"""A Workbench-style experiment: classify iris-like flowers with k nearest neighbours.

Written the way Workbench samples were (`from azureml.logging import get_azureml_logger`), so it shows
that such scripts run unchanged under amlexec. Standard library only: it runs on any target.

    amlexec experiment submit -c local samples/iris_knn.py --k 5
"""

import argparse
import json
import os
import random

from azureml.logging import get_azureml_logger

parser = argparse.ArgumentParser()
parser.add_argument("--k", type=int, default=5, help="number of neighbours")
parser.add_argument("--seed", type=int, default=42)
args = parser.parse_args()

# Three species, four measurements each (sepal length/width, petal length/width), like Fisher's iris.
SPECIES = {
    "setosa": (5.0, 3.4, 1.5, 0.2),
    "versicolor": (5.9, 2.8, 4.3, 1.3),
    "virginica": (6.6, 3.0, 5.6, 2.0),
}
rng = random.Random(args.seed)
data = [([rng.gauss(m, 0.7) for m in means], name) for name, means in SPECIES.items() for _ in range(50)]
rng.shuffle(data)
train, test = data[:110], data[110:]


def predict(x):
    nearest = sorted(train, key=lambda row: sum((a - b) ** 2 for a, b in zip(row[0], x, strict=True)))[: args.k]
    votes = [label for _, label in nearest]
    return max(set(votes), key=votes.count)


confusion = {a: dict.fromkeys(SPECIES, 0) for a in SPECIES}
for x, label in test:
    confusion[label][predict(x)] += 1
accuracy = sum(confusion[s][s] for s in SPECIES) / len(test)
print(f"k={args.k}: accuracy {accuracy:.3f} on {len(test)} flowers")

run_logger = get_azureml_logger()
run_logger.log("k", args.k)
run_logger.log("Accuracy", accuracy)

os.makedirs("outputs", exist_ok=True)
with open("outputs/confusion.json", "w") as fh:
    json.dump(confusion, fh, indent=2)
