"""Held-out speech, and how well a model's mouth follows it.

Run from the repository root (after train.py; prints r on both held-out sets):

    /usr/bin/python3 -m training.evaluate

The measure of mouth opening is simple on purpose, so that the TypeScript quality gate can repeat
it: dark pixels (luma < DARK) inside the lips region of the crop, minus those of the idle crop.
"""
import json
import math
import os

import numpy as np
import torch

from . import corpus, dataset, face, model as modelmod, speech
from .constants import AUDIO_CONTEXT, MAX_ABS_VALUE, MEL_WINDOW, N_MELS

DARK = 0.3
# The lips region inside the crop (x0, y0, x1, y1): where the cavity can appear.
LIPS_BOX = (20, 14, 108, 70)


def opening(crop: np.ndarray, idle_crop: np.ndarray) -> float:
    """Dark-pixel count of the lips region, relative to the idle crop (RGB float in [0, 1])."""
    x0, y0, x1, y1 = LIPS_BOX

    def dark(img):
        region = img[y0:y1, x0:x1]
        luma = region[..., 0] * 0.299 + region[..., 1] * 0.587 + region[..., 2] * 0.114
        return float(np.count_nonzero(luma < DARK))

    return dark(crop) - dark(idle_crop)


def pearson(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / math.sqrt((a * a).sum() * (b * b).sum() + 1e-12))


def lagged(a, b, lag):
    """a[t] against b[t + lag], over the overlap."""
    if lag >= 0:
        return a[:len(a) - lag], b[lag:]
    return a[-lag:], b[:len(b) + lag]


def best_lag(measured, truth, max_lag=4):
    scores = {lag: pearson(*lagged(truth, measured, lag)) for lag in range(-max_lag, max_lag + 1)}
    return max(scores, key=scores.get), scores


def synth_held_out(out_dir: str):
    """Write the held-out WAVs and their ground truth; returns [(name, samples, params)]."""
    os.makedirs(out_dir, exist_ok=True)
    espeak = speech.Espeak()
    gate, family = corpus.held_out_utterances()
    items, index = [], []
    for set_name, utts in (("gate", gate), ("family", family)):
        for i, spec in enumerate(utts):
            engine, voice, text = spec["engine"], spec["voice"], spec["texts"][0]
            samples, phones = dataset.synthesize_plain(spec, espeak)
            params, _ = dataset.utterance_tracks(samples, phones, dataset.phone_table(spec))
            name = f"{set_name}-{i}"
            speech.write_wav(os.path.join(out_dir, name + ".wav"), samples, 16000)
            truth = params[:, 0]
            index.append({"name": name, "set": set_name, "engine": engine, "voice": voice,
                          "text": text, "jaw": [round(float(p), 4) for p in params[:, 0]],
                          "lip_gap": [round(float(p), 4) for p in face.lip_gap(params)]})
            items.append((name, set_name, samples, truth))
    with open(os.path.join(out_dir, "heldout.json"), "w") as f:
        json.dump({"measure": {"dark_luma": DARK, "lips_box": LIPS_BOX,
                               "note": "measured opening = dark pixels in lips_box of the crop minus "
                                       "the idle crop's; ground truth: jaw opening (jaw), lip gap at the centre (lip_gap)"},
                   "utterances": index}, f, indent=1)
    return items


def load_held_out(out_dir: str):
    """The held-out set as synth_held_out wrote it: [(name, set, samples, opening per frame)]."""
    with open(os.path.join(out_dir, "heldout.json")) as f:
        index = json.load(f)["utterances"]
    return [(u["name"], u["set"], speech.read_wav(os.path.join(out_dir, u["name"] + ".wav"))[0],
             np.array(u["jaw"])) for u in index]


@torch.no_grad()
def render_crops(net: modelmod.LipSync, samples: np.ndarray, idle_crops: np.ndarray):
    """Model crops of every frame of `samples`, idle frames walked from 0 as the server starts."""
    _, windows = dataset.utterance_tracks(samples, [], "espeak")
    n = len(windows)
    silence = np.full((AUDIO_CONTEXT - 1, N_MELS, MEL_WINDOW), -MAX_ABS_VALUE, np.float32)
    mels = torch.from_numpy(np.concatenate([silence, windows]))[:, None]
    feats = net.encoder(mels)
    ctx = feats.unfold(0, AUDIO_CONTEXT, 1).permute(0, 2, 1)[:n]
    k = dataset.ping_pong(0, n, len(idle_crops))
    idle = torch.from_numpy(idle_crops[k]).permute(0, 3, 1, 2).float() / 255.0
    x0, y0, x1, y1 = face.MOUTH_BOX
    masked = idle.clone()
    masked[:, :, y0:y1, x0:x1] = 0
    out = []
    for s in range(0, n, 32):
        out.append(net.unet(torch.cat([idle[s:s + 32], masked[s:s + 32]], 1), ctx[s:s + 32]))
    return torch.cat(out).permute(0, 2, 3, 1).numpy(), idle.permute(0, 2, 3, 1).numpy()


def evaluate(net, items, idle_crops):
    results = {}
    for set_name in ("gate", "family"):
        measured, truth = [], []
        for _, s, samples, gap in items:
            if s != set_name:
                continue
            crops, idle = render_crops(net, samples, idle_crops)
            measured += [opening(c, i) for c, i in zip(crops, idle)]
            truth += list(gap)
        lag, scores = best_lag(np.array(measured), np.array(truth))
        results[set_name] = {"r": round(scores[0], 3), "best_lag": lag, "frames": len(truth)}
    return results


if __name__ == "__main__":
    work = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")
    net = modelmod.LipSync()
    net.load_state_dict(torch.load(os.path.join(work, "model.pt")))
    net.eval()
    data = np.load(os.path.join(work, "dataset.npz"))
    items = synth_held_out(os.path.join(work, "heldout"))
    print(json.dumps(evaluate(net, items, data["idle_crops"])))
