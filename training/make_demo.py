"""Regenerate the demo avatar and its model from nothing but Debian packages, with fixed seeds.

Run from the repository root:

    nice -n 19 env TRAIN_THREADS=2 /usr/bin/python3 -m training.make_demo     # the shipped model (about 75 minutes on 2 cores)
    nice -n 19 env TRAIN_THREADS=2 /usr/bin/python3 -m training.make_demo --utterances 300 --steps 400   # a short schedule, to compare ideas

Steps: synthesize and augment the speech corpus (dataset.py), train (train.py), export ONNX and
the avatar package (export.py), write the held-out synthetic gate set and measure the model on it
(evaluate.py), then measure it on the real-speech set (realspeech.py). Writes models/demo/,
models/reference/, models/heldout/ and training/work/report.json.
"""
import argparse
import json
import os
import time

import numpy as np
import torch

from . import dataset, evaluate, export, model as modelmod, realspeech, train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--utterances", type=int, default=dataset.N_UTTERANCES)
    ap.add_argument("--steps", type=int, default=train.STEPS)
    ap.add_argument("--skip-dataset", action="store_true", help="reuse training/work/dataset.npz")
    ap.add_argument("--no-export", action="store_true", help="measure only; leave models/ alone")
    args = ap.parse_args()

    timings = {}
    t = time.time()
    data_path = os.path.join(dataset.WORK, "dataset.npz")
    if not args.skip_dataset:
        dataset.build(args.utterances)
    timings["dataset_s"] = round(time.time() - t)

    t = time.time()
    model_path = train.train(data_path, steps=args.steps)
    timings["train_s"] = round(time.time() - t)

    t = time.time()
    if not args.no_export:
        export.export(model_path)
    timings["export_s"] = round(time.time() - t)

    t = time.time()
    heldout_dir = os.path.join(ROOT, "models", "heldout") if not args.no_export else \
        os.path.join(dataset.WORK, "heldout")
    items = evaluate.synth_held_out(heldout_dir)
    net = modelmod.LipSync()
    net.load_state_dict(torch.load(model_path))
    net.eval()
    idle_crops = np.load(data_path)["idle_crops"]
    synthetic = evaluate.evaluate(net, items, idle_crops)
    per_source, grouped = realspeech.evaluate_model(net, idle_crops)
    timings["evaluate_s"] = round(time.time() - t)

    report = {"timings": timings, "total_s": sum(timings.values()), "held_out": synthetic,
              "real_speech": {"sources": {k: realspeech.strip(v) for k, v in per_source.items()},
                              "groups": {k: realspeech.strip(v) for k, v in grouped.items()},
                              "set": realspeech.summarize(per_source)},
              "utterances": args.utterances, "steps": args.steps,
              "torch": torch.__version__, "threads": torch.get_num_threads()}
    with open(os.path.join(dataset.WORK, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps({"timings": timings, "held_out": synthetic,
                      "groups": {k: v["r"] for k, v in grouped.items()},
                      "set": report["real_speech"]["set"]}))


if __name__ == "__main__":
    main()
