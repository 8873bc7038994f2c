"""The real-speech evaluation set: recordings of people that Debian ships, and how a model is measured on them.

Run from the repository root:
    python3 -m training.realspeech select            # (re)writes models/realspeech/set.json
    python3 -m training.realspeech evaluate [MODEL]  # per-source figures of a trained model.pt

No phone timings exist for these recordings, so the measure compares the mouth with the speech
itself. The quality gate (packages/server/test/quality-gate.test.ts) computes exactly the same
quantities from the server's frames; the definitions live here and in training/README.md:

- level E_t of video frame t (samples [640 t, 640 t + 640) of the 16 kHz clip, zero-padded):
  the frame's variance (mean square after removing its mean), smoothed over frames with weights
  (1/4, 1/2, 1/4) (the clip's ends repeat), in dB: E_t = 10 log10(q_t + 1e-10).
- envelope env_t = 10^((E_t - P) / 20), P = max_t E_t: the smoothed RMS amplitude relative to
  the clip's loudest frame (linear, 0..1: the classical amplitude envelope).
- speech frames: E_t >= P - 20. Silent frames: E_t < max(P - 40, F + 6), F = min_t E_t; the
  silence measured is the silent frames whose neighbours within 4 frames (160 ms, the model's
  anticipation and the mouth's closing) are silent too.
- opening o_t: dark pixels (BT.601 luma < 0.3) in LIPS_BOX of the generated crop minus those of
  the source frame's crop (the synthetic gate's measure).
- motion m_t: mean absolute difference (0..255, over RGB) between the generated crop and the
  source frame's crop in LIPS_BOX: how far the mouth is from its rest pose.
- r(lag): Pearson correlation over the pairs (env_t, o_{t+lag}) with both frames in the same clip,
  pooled over a source's clips; the gate reads r* = max(r(-1), r(0), r(1)).
- silence ratio: mean m over silence frames / mean m over speech frames, pooled over the set.

None of these packages may feed training: corpus.py's voices are synthesisers, and
`assert_not_training_source` refuses any path of them.
"""
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

from .constants import SAMPLE_RATE, SAMPLES_PER_FRAME

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SET_PATH = os.path.join(ROOT, "models", "realspeech", "set.json")

# The measure's constants (also written to set.json, which the TypeScript gate reads).
MEASURE = {
    "speech_db": -20.0,
    "silence_db": -40.0,
    "silence_over_floor_db": 6.0,
    "silence_margin_frames": 4,
    "dark_luma": 0.3,
    "lips_box": [20, 14, 108, 70],
    "lags": [-1, 0, 1],
}

KLETTRES = "/usr/share/klettres"
KLETTRES_PER_KIND = 2           # clips per language from alpha/ and from syllab/
ASTERISK = "/usr/share/asterisk/sounds"
ASTERISK_VOICES = {"asterisk-en": ("asterisk-core-sounds-en-wav", "en_US_f_Allison"),
                   "asterisk-fr": ("asterisk-core-sounds-fr-wav", "fr_CA_f_June")}
ASTERISK_CLIPS = 12
ASTERISK_SECONDS = (2.5, 6.0)
ALSA = "/usr/share/sounds/alsa"

# Packages whose audio is evaluation data: training must never read a file of theirs.
EVAL_PACKAGES = ["alsa-utils", "klettres-data", "asterisk-core-sounds-en-wav",
                 "asterisk-core-sounds-fr-wav"]
EVAL_ROOTS = [ALSA, KLETTRES, ASTERISK]


def assert_not_training_source(path: str):
    real = os.path.realpath(path)
    for root in EVAL_ROOTS:
        if real.startswith(root + os.sep):
            raise ValueError(f"{path} belongs to the real-speech evaluation set; it must not be trained on")


def decode(path: str) -> np.ndarray:
    """16 kHz mono float samples (int16 / 32768), decoded and resampled by ffmpeg as the gate does."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-ac", "1",
                          "-ar", str(SAMPLE_RATE), "-f", "s16le", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0


def n_frames(n_samples: int) -> int:
    return -(-n_samples // SAMPLES_PER_FRAME)


def levels(samples: np.ndarray) -> np.ndarray:
    """E_t: the smoothed level of every video frame in dB (see the module docstring)."""
    n = n_frames(len(samples))
    x = np.zeros(n * SAMPLES_PER_FRAME, np.float64)
    x[:len(samples)] = samples
    frames = x.reshape(n, SAMPLES_PER_FRAME)
    p = ((frames - frames.mean(axis=1, keepdims=True)) ** 2).mean(axis=1)
    padded = np.concatenate([p[:1], p, p[-1:]])
    q = 0.25 * padded[:-2] + 0.5 * padded[1:-1] + 0.25 * padded[2:]
    return 10.0 * np.log10(q + 1e-10)


def envelope(e: np.ndarray) -> np.ndarray:
    return 10.0 ** ((e - e.max()) / 20.0)


def speech_mask(e: np.ndarray) -> np.ndarray:
    return e >= e.max() + MEASURE["speech_db"]


def silence_mask(e: np.ndarray) -> np.ndarray:
    threshold = max(e.max() + MEASURE["silence_db"], e.min() + MEASURE["silence_over_floor_db"])
    silent = e < threshold
    k = MEASURE["silence_margin_frames"]
    padded = np.concatenate([np.ones(k, bool), silent, np.ones(k, bool)])
    return np.array([padded[t:t + 2 * k + 1].all() for t in range(len(e))], dtype=bool)


def pearson(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-12))


def lagged_r(envs, openings, lag: int) -> float:
    """r of (env_t, opening_{t+lag}) pooled over clips, both frames inside the same clip."""
    xs, ys = [], []
    for env, o in zip(envs, openings):
        n = len(env)
        if lag >= 0:
            xs.append(env[:n - lag])
            ys.append(o[lag:])
        else:
            xs.append(env[-lag:])
            ys.append(o[:n + lag])
    return pearson(np.concatenate(xs), np.concatenate(ys))


def source_figures(clips):
    """clips: [(samples, opening per frame, motion per frame)] of one source -> its figures."""
    envs, opens, motions, speech, silence = [], [], [], [], []
    for samples, o, m in clips:
        e = levels(samples)
        assert len(o) == len(e) == len(m), (len(o), len(e), len(m))
        envs.append(envelope(e))
        opens.append(np.asarray(o, np.float64))
        motions.append(np.asarray(m, np.float64))
        speech.append(speech_mask(e))
        silence.append(silence_mask(e))
    rs = {lag: lagged_r(envs, opens, lag) for lag in range(-3, 4)}
    motion, speech, silence = np.concatenate(motions), np.concatenate(speech), np.concatenate(silence)
    return {"r": round(max(rs[lag] for lag in MEASURE["lags"]), 3),
            "r_by_lag": {str(k): round(v, 3) for k, v in rs.items()},
            "best_lag": max(rs, key=rs.get),
            "frames": int(len(motion)), "speech_frames": int(speech.sum()),
            "silence_frames": int(silence.sum()),
            "motion_speech": round(float(motion[speech].mean()), 3) if speech.any() else None,
            "motion_silence": round(float(motion[silence].mean()), 3) if silence.any() else None,
            "motion_all": round(float(motion.mean()), 3),
            "_sums": (float(motion[speech].sum()), int(speech.sum()), float(motion[silence].sum()),
                      int(silence.sum()))}


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def package_version(name: str) -> str:
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], check=True,
                          capture_output=True, text=True).stdout


def _evenly(items, k):
    """k items spread evenly over a sorted list (all of them if there are fewer)."""
    if len(items) <= k:
        return list(items)
    return [items[round(i * (len(items) - 1) / (k - 1))] for i in range(k)] if k > 1 else [items[0]]


def select():
    """The evaluation set: source -> files, chosen by fixed rules from the installed packages."""
    sources = []
    alsa = sorted(f for f in os.listdir(ALSA) if f.endswith(".wav") and f != "Noise.wav")
    sources.append({"source": "alsa", "package": "alsa-utils", "kind": "speech",
                    "files": [os.path.join(ALSA, f) for f in alsa]})
    sources.append({"source": "alsa-noise", "package": "alsa-utils", "kind": "noise",
                    "files": [os.path.join(ALSA, "Noise.wav")]})
    for lang in sorted(os.listdir(KLETTRES)):
        files = []
        for kind in ("alpha", "syllab"):
            d = os.path.join(KLETTRES, lang, kind)
            if os.path.isdir(d):
                names = sorted(f for f in os.listdir(d) if f.endswith(".ogg"))
                files += [os.path.join(d, f) for f in _evenly(names, KLETTRES_PER_KIND)]
        if not files:
            continue
        if len(files) < 2 * KLETTRES_PER_KIND:      # no syllables: more letters
            d = os.path.join(KLETTRES, lang, "alpha")
            names = sorted(f for f in os.listdir(d) if f.endswith(".ogg"))
            files = [os.path.join(d, f) for f in _evenly(names, 2 * KLETTRES_PER_KIND)]
        sources.append({"source": f"klettres-{lang}", "package": "klettres-data", "kind": "speech",
                        "files": files})
    for source, (package, voice) in ASTERISK_VOICES.items():
        d = os.path.join(ASTERISK, voice)
        lo, hi = ASTERISK_SECONDS
        names = sorted(f for f in os.listdir(d) if f.endswith(".wav")
                       and lo <= len(decode(os.path.join(d, f))) / SAMPLE_RATE <= hi)
        sources.append({"source": source, "package": package, "kind": "speech",
                        "files": [os.path.join(d, f) for f in _evenly(names, ASTERISK_CLIPS)]})
    for s in sources:
        s["version"] = package_version(s["package"])
        s["files"] = [{"path": p, "sha256": sha256(p), "frames": n_frames(len(decode(p)))}
                      for p in s["files"]]
    return sources


def write_set(path: str = SET_PATH):
    sources = select()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    doc = {"about": "Real human speech from Debian packages, never trained on; read from the installed "
                    "packages (scripts/setup.sh --system installs them). Chosen by training/realspeech.py.",
           "decode": "ffmpeg -nostdin -v error -i FILE -ac 1 -ar 16000 -f s16le -",
           "measure": MEASURE,
           # The gate recomputes these levels to prove its measure is this one.
           "check": {"path": sources[0]["files"][0]["path"],
                     "levels": [float(v) for v in levels(decode(sources[0]["files"][0]["path"]))]},
           "sources": sources}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)
    total = sum(x["frames"] for s in sources for x in s["files"])
    print(f"{path}: {len(sources)} sources, {sum(len(s['files']) for s in sources)} files, {total} frames")


def load_set(path: str = SET_PATH):
    with open(path) as f:
        doc = json.load(f)
    for s in doc["sources"]:
        for x in s["files"]:
            if not os.path.exists(x["path"]):
                raise FileNotFoundError(f"{x['path']} is missing: install {s['package']} "
                                        "(bash scripts/setup.sh --system)")
    return doc


def summarize(per_source: dict) -> dict:
    """Whole-set figures from per-source ones: r over the speech sources, the silence ratio."""
    sums = np.zeros(4)
    noise = None
    for name, fig in per_source.items():
        if name.endswith("noise"):
            noise = fig
            continue
        sums += np.array(fig["_sums"])
    speech_mean = sums[0] / max(sums[1], 1)
    out = {"motion_speech": round(speech_mean, 3),
           "motion_silence": round(sums[2] / max(sums[3], 1), 3),
           "silence_ratio": round(sums[2] / max(sums[3], 1) / max(speech_mean, 1e-9), 3),
           "silence_frames": int(sums[3]), "speech_frames": int(sums[1])}
    if noise is not None:
        out["noise_ratio"] = round(noise["motion_all"] / max(speech_mean, 1e-9), 3)
    return out


def group(name: str) -> str:
    return "klettres" if name.startswith("klettres-") else name


def evaluate_model(net, idle_crops, path: str = SET_PATH):
    """Per-source figures of a torch LipSync model (render_crops as in evaluate.py)."""
    from . import evaluate as ev
    doc = load_set(path)
    per_source, groups = {}, {}
    for s in doc["sources"]:
        clips = []
        for x in s["files"]:
            samples = decode(x["path"])
            crops, idle = ev.render_crops(net, samples, idle_crops)
            o = [ev.opening(c, i) for c, i in zip(crops, idle)]
            m = [mouth_motion(c, i) for c, i in zip(crops, idle)]
            clips.append((samples, o, m))
        per_source[s["source"]] = source_figures(clips)
        groups.setdefault(group(s["source"]), []).extend(clips)
    grouped = {g: source_figures(c) for g, c in groups.items() if len(groups) > 1}
    return per_source, grouped


def mouth_motion(crop: np.ndarray, idle_crop: np.ndarray) -> float:
    """m_t on float RGB crops in [0, 1]: mean |difference| * 255 inside LIPS_BOX."""
    x0, y0, x1, y1 = MEASURE["lips_box"]
    return float(np.abs(crop[y0:y1, x0:x1] - idle_crop[y0:y1, x0:x1]).mean() * 255.0)


def strip(fig: dict) -> dict:
    return {k: v for k, v in fig.items() if not k.startswith("_")}


def main(argv):
    if len(argv) >= 1 and argv[0] == "select":
        write_set()
        return
    if len(argv) >= 1 and argv[0] == "evaluate":
        import torch
        from . import model as modelmod
        path = argv[1] if len(argv) > 1 else os.path.join(ROOT, "training", "work", "model.pt")
        net = modelmod.LipSync()
        net.load_state_dict(torch.load(path), strict=False)
        net.eval()
        from . import dataset
        _, _, idle = dataset.idle_frames()
        per_source, grouped = evaluate_model(net, idle)
        for name, fig in per_source.items():
            print(name, json.dumps(strip(fig)))
        for name, fig in grouped.items():
            print("group", name, json.dumps(strip(fig)))
        print("set", json.dumps(summarize(per_source)))
        return
    print(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
