"""Static INT8 versions of an avatar package's UNet and audio encoder, for serving on the CPU.

Run (from any python3; it sets up its own venv under .tools/ on first use):

    python3 -m training.quantize              # models/demo: unet.int8.onnx, audio_encoder.int8.onnx,
                                              # "model.cpu_variant" in manifest.json if both quality
                                              # gates pass with them (else everything is put back)
    python3 -m training.quantize --no-gate    # the files and their errors only; manifest untouched
    python3 -m training.quantize --remove     # drop the variant (files and manifest field)

One command regenerates the INT8 files from whatever fp32 models the package holds, so it is
rerun after every retraining (make_demo.py / export.py rewrite the manifest without the field, and
the server also ignores a variant whose recorded fp32 hashes no longer match: docs/models.md).

Calibration is on the training speech only: utterances made by corpus.py's training specs
(espeak-ng and flite voices, augment.py's rooms, noises, microphones and codecs) through
dataset.speech_tracks with a seed of its own. Never on the gates' recordings (models/heldout,
models/realspeech and the Debian files set.json lists): nothing here reads a file; every sample is
synthesised. Image inputs are the package's own idle frames, cropped and masked as the server does.

Quantization: QDQ, convolution weights int8 per channel with reduce_range (7-bit), activations
uint8, ranges from MinMax; fully connected layers stay float32 (see quantize()). reduce_range keeps the u8 x s8 products of two taps under 2^15, so every x86 kernel of
ONNX Runtime (VNNI or the AVX2 VPMADDUBSW one, which saturates past that) computes the same model:
what passed the gate here runs the same on another CPU. Inputs and outputs stay float32 (the
QuantizeLinear and DequantizeLinear at the edges are inside the graph), so the server feeds the
INT8 files exactly as it feeds the fp32 ones.
"""
import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".tools", "quant-venv")
# onnxruntime is the version onnxruntime-node is pinned to, so the quantizer knows the kernels the
# server runs. numpy stays Debian's (the venv sees the system's scipy, PIL, skimage built for it).
PINS = ["onnxruntime==1.29.0", "onnx==1.17.0", "ml_dtypes==0.5.1", "numpy==1.24.2"]
SYSTEM_PYTHON = "/usr/bin/python3"

CALIB_SEED = 20261202          # not the training seed: another draw of the same training specs
CALIB_UTTERANCES = 60
EVAL_SEED = 20261203           # a second draw, for the error figures
EVAL_UTTERANCES = 12
# onnxruntime's calibrator keeps every intermediate tensor of every sample until the end (about
# 12 MB per UNet frame): these counts keep it near 2.5 GB.
ENCODER_SAMPLES = 800
UNET_SAMPLES = 160
EVAL_SAMPLES = 96
SUFFIX = ".int8.onnx"


def in_venv() -> bool:
    return os.path.realpath(sys.prefix) == os.path.realpath(VENV)


def ensure_venv(argv):
    """Re-runs this script inside .tools/quant-venv, creating it with the pinned packages first."""
    py = os.path.join(VENV, "bin", "python")
    stamp = os.path.join(VENV, "pins.txt")
    want = "\n".join(PINS) + "\n"
    if not (os.path.exists(stamp) and open(stamp).read() == want):
        print(f"setting up {os.path.relpath(VENV, ROOT)} ({', '.join(PINS)})", flush=True)
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", "--clear", VENV], check=True)
        subprocess.run([py, "-m", "pip", "install", "-q", *PINS], check=True)
        with open(stamp, "w") as f:
            f.write(want)
    os.chdir(ROOT)
    os.execv(py, [py, "-m", "training.quantize", *argv])


# ---------------------------------------------------------------- calibration inputs

def check_calibration_specs(specs):
    """Refuses a calibration draw that holds a gate's voice, synthesiser family or text."""
    from . import corpus
    held = {corpus.HELD_OUT_VOICE, corpus.HELD_OUT_FAMILY}
    for spec in specs:
        if (spec["engine"], spec["voice"]) in held or any(t in corpus.HELD_OUT_TEXTS for t in spec["texts"]):
            raise ValueError(f"calibration utterance {spec['engine']} {spec['voice']} belongs to a quality gate's held-out set")


def speech_mels(n_utterances: int, seed: int):
    """Per utterance, its mel frames and video frame count: training specs, one augmented version."""
    import numpy as np
    from . import corpus, dataset
    # The specs dataset.speech_tracks synthesises (the same call inside it).
    check_calibration_specs(corpus.training_utterances(n_utterances, seed, False))
    # festival is not part of scripts/setup.sh: leaving it out keeps the calibration the same on
    # every machine that runs this (its share goes to espeak-ng and flite).
    tracks = dataset.speech_tracks(n_utterances, seed, versions=1, festival=False)
    frames = np.bincount(tracks["utterance"], minlength=n_utterances)
    out, start = [], 0
    for u, count in enumerate(tracks["mel_count"]):
        out.append((tracks["mel"][start:start + count].astype(np.float32), int(frames[u])))
        start += count
    return out


def package_inputs(pkg: str, manifest: dict):
    """Every idle frame's 6-channel UNet input [6, S, S] in [0, 1], as the server builds it (v1)."""
    import numpy as np
    from PIL import Image
    model = manifest["model"]
    size = model["input_size"]
    x0, y0, x1, y1 = manifest["mouth_box"]
    pattern = manifest["frames"]
    out = []
    for i, (bx, by, bw, bh) in enumerate(manifest["crop_boxes"]):
        name = re.sub(r"\{index(?::0(\d)d)?\}", lambda m: str(i).zfill(int(m.group(1) or 0)), pattern)
        frame = np.asarray(Image.open(os.path.join(pkg, name)).convert("RGB"), dtype=np.float32) / 255
        if (bw, bh) != (size, size):
            raise SystemExit("quantize.py reads format 1 packages whose crops are at the model's size")
        ref = frame[by:by + bh, bx:bx + bw].transpose(2, 0, 1)
        masked = ref.copy()
        masked[:, y0:y1, x0:x1] = 0
        out.append(np.concatenate([ref, masked]))
    return np.stack(out)


def calibration_set(pkg: str, manifest: dict, encoder_path: str, n_utt: int, seed: int,
                    n_enc: int, n_unet: int):
    """Encoder inputs [n, 1, 80, 16] and UNet inputs (image [n, 6, S, S], audio [n, 8, F])."""
    import numpy as np
    import onnxruntime as ort
    from . import mel as melmod
    rng = np.random.default_rng(seed)
    model = manifest["model"]
    context = model["audio_context"]
    enc = ort.InferenceSession(encoder_path, providers=["CPUExecutionProvider"])
    enc_in = model["inputs"]["mel"]
    silence = enc.run(None, {enc_in: np.full((1, 1, model["mel"]["n_mels"], model["mel"]["window_frames"]),
                                             melmod.SILENCE, np.float32)})[0][0]
    windows, audio = [], []
    for mel, frames in speech_mels(n_utt, seed):
        w = melmod.frame_windows(mel, frames)[:, None]
        feats = np.concatenate([enc.run(None, {enc_in: w[i:i + 64]})[0] for i in range(0, len(w), 64)])
        history = np.concatenate([np.repeat(silence[None], context - 1, 0), feats])
        windows.append(w)
        audio.append(np.stack([history[j:j + context] for j in range(frames)]))
    windows = np.concatenate(windows)
    audio = np.concatenate(audio)
    images = package_inputs(pkg, manifest)
    e = rng.choice(len(windows), min(n_enc, len(windows)), replace=False)
    u = rng.choice(len(audio), min(n_unet, len(audio)), replace=False)
    idle = rng.integers(0, len(images), len(u))
    return windows[e], (images[idle], audio[u].astype(np.float32))


# ---------------------------------------------------------------- quantization

class Reader:
    """onnxruntime's CalibrationDataReader over in-memory inputs, in batches."""

    def __init__(self, inputs: dict, batch: int = 16):
        self.inputs, self.batch, self.pos = inputs, batch, 0
        self.n = len(next(iter(inputs.values())))

    def get_next(self):
        if self.pos >= self.n:
            return None
        sl = slice(self.pos, self.pos + self.batch)
        self.pos += self.batch
        return {k: v[sl] for k, v in self.inputs.items()}

    def rewind(self):
        self.pos = 0


def quantize(src: str, dst: str, inputs: dict):
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process
    pre = dst + ".pre.onnx"
    try:
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        # Fully connected layers stay float32: the UNet's audio MLP meets loud inputs past its
        # calibrated range (1-2 % of frames came out up to 98 levels off with it quantized, 18 at
        # most without), and it is 0.16 of the UNet's 330 MMAC, so quantizing it saves nothing.
        dense = [n.name for n in onnx.load(pre).graph.node if n.op_type in ("Gemm", "MatMul")]
        quantize_static(pre, dst + ".tmp", Reader(inputs), quant_format=QuantFormat.QDQ,
                        per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=dense)
        os.replace(dst + ".tmp", dst)
    finally:
        for f in (pre, dst + ".tmp"):
            if os.path.exists(f):
                os.remove(f)


def errors(fp32: str, int8: str, inputs: dict, scale: float = 1.0) -> dict:
    """Max and mean absolute difference of the int8 model's output from the fp32 one's."""
    import numpy as np
    import onnxruntime as ort
    outs = []
    for path in (fp32, int8):
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        outs.append(np.concatenate([s.run(None, b)[0] for b in iter(Reader(inputs).get_next, None)]))
    d = np.abs(outs[0] - outs[1]) * scale
    return {"max_abs": round(float(d.max()), 4), "mean_abs": round(float(d.mean()), 5), "items": len(outs[0])}


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- the manifest

def write_manifest(pkg: str, manifest: dict):
    """manifest.json written atomically, one crop box per line as export.py writes it."""
    text = json.dumps(manifest, indent=1)
    text = re.sub(r"\[\s+(-?\d+),\s+(-?\d+),\s+(-?\d+),\s+(-?\d+)\s+\]", r"[\1, \2, \3, \4]", text)
    tmp = os.path.join(pkg, f".manifest.json.{os.getpid()}")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, os.path.join(pkg, "manifest.json"))


def variant_entry(pkg: str, model: dict) -> dict:
    """The manifest's model.cpu_variant: the INT8 files and the hashes of the fp32 files they came from."""
    entry = {"precision": "int8", "unet": int8_name(model["unet"]), "audio_encoder": int8_name(model["audio_encoder"])}
    entry["source_sha256"] = {"unet": sha256(os.path.join(pkg, model["unet"])),
                              "audio_encoder": sha256(os.path.join(pkg, model["audio_encoder"]))}
    return entry


def int8_name(fp32_name: str) -> str:
    return (fp32_name[:-5] if fp32_name.endswith(".onnx") else fp32_name) + SUFFIX


def remove_variant(pkg: str, manifest: dict):
    variant = manifest["model"].pop("cpu_variant", None)
    write_manifest(pkg, manifest)
    names = [variant[k] for k in ("unet", "audio_encoder")] if variant else []
    names += [int8_name(manifest["model"][k]) for k in ("unet", "audio_encoder")]
    for name in set(names):
        if os.path.exists(os.path.join(pkg, name)):
            os.remove(os.path.join(pkg, name))


def run_gates() -> bool:
    """Both quality gates through the server's engine, which serves the CPU variant on the CPU."""
    cmd = ["pnpm", "exec", "vitest", "run", "packages/server/test/quality-gate.test.ts"]
    print("running the quality gates:", " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT).returncode == 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--package", default=os.path.join(ROOT, "models", "demo"))
    ap.add_argument("--no-gate", action="store_true", help="write the INT8 files only; leave the manifest as it is")
    ap.add_argument("--remove", action="store_true", help="remove the CPU variant from the package")
    ap.add_argument("--utterances", type=int, default=CALIB_UTTERANCES)
    args = ap.parse_args(argv)
    pkg = os.path.abspath(args.package)
    with open(os.path.join(pkg, "manifest.json")) as f:
        manifest = json.load(f)
    if manifest.get("format_version") != 1:
        raise SystemExit("quantize.py handles format 1 packages (the demo model family)")
    if args.remove:
        remove_variant(pkg, manifest)
        print("removed the CPU variant")
        return 0
    model = manifest["model"]
    unet, encoder = (os.path.join(pkg, model[k]) for k in ("unet", "audio_encoder"))
    t0 = time.time()
    enc_in, (image, audio) = calibration_set(pkg, manifest, encoder, args.utterances, CALIB_SEED,
                                             ENCODER_SAMPLES, UNET_SAMPLES)
    ev_enc, (ev_image, ev_audio) = calibration_set(pkg, manifest, encoder, EVAL_UTTERANCES, EVAL_SEED,
                                                   EVAL_SAMPLES, EVAL_SAMPLES)
    t1 = time.time()
    names = model["inputs"]
    quantize(encoder, os.path.join(pkg, int8_name(model["audio_encoder"])), {names["mel"]: enc_in})
    # The UNet is calibrated with the fp32 encoder's features: what the INT8 encoder gives differs
    # by its own error, which the gate measures end to end.
    quantize(unet, os.path.join(pkg, int8_name(model["unet"])), {names["image"]: image, names["audio"]: audio})
    t2 = time.time()
    report = {
        "what": "static INT8 (QDQ, per-channel int8 convolution weights, uint8 activations, MinMax; Gemm float32)",
        "calibration": {"utterances": args.utterances, "encoder_windows": len(enc_in), "unet_frames": len(image), "seconds": round(t1 - t0)},
        "quantize_seconds": round(t2 - t1),
        # Errors on another draw of training speech; the UNet's in 8-bit levels (0-255).
        "encoder_error": errors(encoder, os.path.join(pkg, int8_name(model["audio_encoder"])), {names["mel"]: ev_enc}),
        "unet_error_levels": errors(unet, os.path.join(pkg, int8_name(model["unet"])), {names["image"]: ev_image, names["audio"]: ev_audio}, 255.0),
        "sizes_bytes": {model[k]: os.path.getsize(os.path.join(pkg, model[k])) for k in ("unet", "audio_encoder")}
        | {int8_name(model[k]): os.path.getsize(os.path.join(pkg, int8_name(model[k]))) for k in ("unet", "audio_encoder")},
    }
    print(json.dumps(report), flush=True)
    if args.no_gate:
        return 0
    manifest["model"]["cpu_variant"] = variant_entry(pkg, model)
    write_manifest(pkg, manifest)
    if run_gates():
        print("quality gates pass with the INT8 models: manifest.json serves them on the CPU")
        return 0
    manifest["model"].pop("cpu_variant")
    remove_variant(pkg, manifest)
    print("a quality gate failed with the INT8 models: the package is left as it was (float32)")
    return 1


if __name__ == "__main__":
    if not in_venv():
        ensure_venv(sys.argv[1:])
    sys.exit(main(sys.argv[1:]))
