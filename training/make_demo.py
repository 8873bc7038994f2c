"""Regenerate the demo avatar and its model from nothing but Debian packages, with fixed seeds.

Run from the repository root:

    python3 training/make_demo.py

Steps: synthesize the speech corpus and render the mouths (dataset.py), train (train.py), export
ONNX and the avatar package (export.py), write the held-out gate set and measure the model on it
(evaluate.py). Writes models/demo/, models/reference/, models/heldout/ and
training/work/report.json. Takes about 35 minutes on 2 CPU cores.
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset  # noqa: E402
import evaluate  # noqa: E402
import export  # noqa: E402
import model as modelmod  # noqa: E402
import train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    timings = {}
    t = time.time()
    data_path = dataset.build()
    timings["dataset_s"] = round(time.time() - t)

    t = time.time()
    model_path = train.train(data_path)
    timings["train_s"] = round(time.time() - t)

    t = time.time()
    export.export(model_path)
    timings["export_s"] = round(time.time() - t)

    t = time.time()
    items = evaluate.synth_held_out(os.path.join(ROOT, "models", "heldout"))
    net = modelmod.LipSync()
    net.load_state_dict(torch.load(model_path))
    net.eval()
    idle_crops = np.load(data_path)["idle_crops"]
    results = evaluate.evaluate(net, items, idle_crops)
    timings["evaluate_s"] = round(time.time() - t)

    report = {"timings": timings, "total_s": sum(timings.values()), "held_out": results,
              "torch": torch.__version__, "threads": torch.get_num_threads()}
    with open(os.path.join(dataset.WORK, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
