"""Workbench's "sweeping" idiom: submit one run per parameter value, then pick the best from history.

    python samples/sweep.py

amlexec replaces this loop with one command that runs the trials two at a time as one parent run, records
the best trial, and can resume (docs/sweeps.md):

    amlexec experiment sweep -c local samples/iris_knn.py --param k=1,3,5,9,15 --max-concurrent 2 \
        --metric Accuracy --goal maximize
"""

import json
import subprocess

for k in (1, 3, 5, 9, 15):
    subprocess.run(["amlexec", "experiment", "submit", "-c", "local", "samples/iris_knn.py", "--k", str(k)],
                   check=True, stdout=subprocess.DEVNULL)

best = subprocess.run(["amlexec", "history", "list", "--query", "max_by([?k], &Accuracy)", "-o", "json"],
                      check=True, capture_output=True, text=True)
run = json.loads(best.stdout)
print(f"best: k={run['k']} accuracy={run['Accuracy']:.3f} ({run['run_id']})")
