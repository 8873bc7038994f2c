"""Fine-tune the demo model's family on one user's avatar package (`lipsync avatar train NAME`).

Run from the repository root (what `lipsync avatar train NAME` runs):

    /usr/bin/python3 -m training.finetune ROOT/NAME [--steps 800] [--device cpu|cuda]

1. The base model comes from the package's own ONNX files (the demo's, copied by the builder):
   convolutions carry their folded batch-norm, so the batch-norm layers are set to identity and
   kept frozen, and the network starts exactly where the base model is.
2. Training pairs: synthetic speech (espeak-ng, flite: dataset.speech_tracks) with the mouth
   renderer drawn on the user's own idle frames; for a video also the video's own frames with
   their own audio (target: the real mouth; reference: an idle frame, never the frame itself).
3. Resumable: the dataset and a checkpoint every 100 steps live in ROOT/.NAME.train/; a rerun
   continues from the last checkpoint.
4. The quality gate: the synthetic held-out set (models/heldout) rendered on this face, mouth
   opening against the ground truth, r >= GATE_R at lag 0. Only a model that passes replaces
   the package's model (a new package folder swapped in by rename, never half-written).

Progress goes to stdout as lines "@progress {json}" that the CLI draws as a bar.
"""
import argparse
import json
import os
import shutil
import sys
import time

import numpy as np
import torch

from . import batches, dataset, evaluate, export, face, mel as melmod, model as modelmod, user_face
from .constants import AUDIO_CONTEXT, MAX_ABS_VALUE, MEL_WINDOW, N_MELS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELD_OUT = os.path.join(ROOT, "models", "heldout")
STEPS = 800
UTTERANCES = 240
LR = 5e-4
WARMUP = 50
CHECKPOINT_EVERY = 100
REAL_SHARE = 0.5          # share of clips from the video's own frames, when there are any
GATE_R = 0.7              # the synthetic held-out gate for a user's face (the demo's is 0.8)
SEED = 4321


def progress(stage, done=0, total=0, **extra):
    print("@progress " + json.dumps({"stage": stage, "done": done, "total": total, **extra}), flush=True)


# ---- the base model from ONNX -------------------------------------------------------------------

def _onnx_convs(path):
    """[(weight, bias)] of every Conv node in graph order, and the named initializers."""
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(path).graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = []
    for node in graph.node:
        if node.op_type == "Conv":
            w = init[node.input[1]]
            b = init[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0], np.float32)
            convs.append((w, b))
    return convs, init


def _load_module(module, path):
    """Conv weights (batch-norm folded in) in forward order; batch-norm made identity; linears by name."""
    convs, init = _onnx_convs(path)
    mods = [m for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    if len(mods) != len(convs):
        raise ValueError(f"{os.path.basename(path)} has {len(convs)} convolutions, the model {len(mods)}: not this model family")
    with torch.no_grad():
        for m, (w, b) in zip(mods, convs):
            if tuple(m.weight.shape) != w.shape:
                raise ValueError(f"{os.path.basename(path)}: convolution of shape {w.shape}, the model has {tuple(m.weight.shape)}")
            m.weight.copy_(torch.from_numpy(np.array(w)))
            if m.bias is None:
                m.bias = torch.nn.Parameter(torch.from_numpy(b.copy()))
            else:
                m.bias.copy_(torch.from_numpy(np.array(b)))
        for m in module.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0 - m.eps)     # sqrt(var + eps) = 1: exactly identity
        for name, p in module.named_parameters():
            if name in init and p.dim() < 4:
                p.copy_(torch.from_numpy(np.array(init[name])))


def load_base(pkg_dir, manifest):
    net = modelmod.LipSync()
    _load_module(net.unet, os.path.join(pkg_dir, manifest["model"]["unet"]))
    _load_module(net.encoder, os.path.join(pkg_dir, manifest["model"]["audio_encoder"]))
    return net


def freeze_norms(net):
    """Batch-norm stays identity (the statistics are folded into the convolutions)."""
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
            m.weight.requires_grad_(False)
            m.bias.requires_grad_(False)


# ---- data ---------------------------------------------------------------------------------------

def build_data(pkg: user_face.UserPackage, work: str, utterances: int, seed: int):
    """Synthetic pairs on the user's face (+ the video's own frames); cached in `work`."""
    path = os.path.join(work, f"data-{utterances}-{seed}.npz")
    if os.path.exists(path):
        return dict(np.load(path))
    progress("synthesising speech", 0, utterances)
    # One version of each utterance, and no festival voices: lipsync avatar train needs only
    # espeak-ng, flite and sox (scripts/setup.sh --system), not the demo model's training set-up.
    tracks = dataset.speech_tracks(utterances, seed, versions=1, festival=False)
    frames = pkg.idle_frames()
    n_idle = len(frames)
    rng = np.random.default_rng(seed)
    utt = tracks["utterance"]
    idle_index = np.empty(len(utt), dtype=np.int64)
    for u in np.unique(utt):
        sel = np.flatnonzero(utt == u)
        idle_index[sel] = dataset.ping_pong(int(rng.integers(0, 2 * (n_idle - 1))), len(sel), n_idle)
    progress("rendering mouths on the face", 0, len(utt))
    targets = user_face.render_targets(tracks["params"], idle_index, frames, pkg.poses,
                                       lambda i: progress("rendering mouths on the face", i, len(utt)))
    progress("rendering mouths on the face", len(utt), len(utt))
    data = {"targets": targets, "idle_crops": pkg.idle_crops(frames), "params": tracks["params"],
            "idle_index": idle_index, "utterance": utt, "mel": tracks["mel"], "mel_count": tracks["mel_count"]}
    video = pkg.video_crops()
    samples = pkg.audio()
    if video is not None and samples is not None:
        crops, speech = video
        mel = melmod.mel_spectrogram(samples)
        data["real_crops"] = crops
        data["real_windows"] = melmod.frame_windows(mel, len(crops)).astype(np.float16)
        data["real_speech"] = speech
    tmp = path + ".tmp.npz"
    np.savez(tmp, **data)
    os.replace(tmp, path)
    return data


class Sampler:
    """Clips of batches.CLIP_LEN frames: synthetic speech with its mouth rendered on the user's
    face (targets made once, in build_data), and clips of a video's own frames."""

    def __init__(self, data, rng):
        self.targets = data["targets"]
        self.idle = torch.from_numpy(data["idle_crops"]).permute(0, 3, 1, 2).float() / 255.0
        self.idle_index = data["idle_index"]
        self.clips = batches.Clips(data, rng)
        self.silence = np.full((N_MELS, MEL_WINDOW), -MAX_ABS_VALUE, dtype=np.float32)
        self.real = data.get("real_crops")
        if self.real is not None:
            self.real_windows = data["real_windows"]

    @property
    def rng(self):
        return self.clips.rng

    @rng.setter
    def rng(self, rng):
        self.clips.rng = rng

    def sample(self):
        frames, mel, params = self.clips.sample(batches.CLIPS)
        target = torch.from_numpy(self.targets[frames]).permute(0, 3, 1, 2).float() / 255.0
        k = self.idle_index[frames]
        image = batches.model_input(self.idle, k, self.rng)
        change = (target - self.idle[k]).abs().mean(1, keepdim=True)
        return image, mel, target, params, change

    def sample_real(self):
        n = len(self.real)
        frames, mels = [], []
        for _ in range(batches.CLIPS):
            f = int(self.rng.integers(0, max(1, n - batches.CLIP_LEN)))
            for i in range(-(AUDIO_CONTEXT - 1), batches.CLIP_LEN):
                g = f + i
                mels.append(self.real_windows[g].astype(np.float32) if 0 <= g < n else self.silence)
            frames.extend(range(f, f + batches.CLIP_LEN))
        frames = np.array(frames)
        target = torch.from_numpy(self.real[frames]).permute(0, 3, 1, 2).float() / 255.0
        # Reference: an idle frame (its mouth at rest), never the target itself.
        ref = self.idle[torch.from_numpy(self.rng.integers(0, len(self.idle), len(frames)))]
        image = torch.cat([ref, batches.masked(target)], 1)
        mel = torch.from_numpy(np.stack(mels))[:, None]
        change = (target - ref).abs().mean(1, keepdim=True)
        return image, mel, target, None, change


def train_loop(net, data, work, steps, device, seed, report_every=20):
    """Fine-tunes `net` in place from the last checkpoint in `work`; returns the loss history."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sampler = Sampler(data, rng)
    net.to(device)
    params = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=LR)
    ckpt = os.path.join(work, "checkpoint.pt")
    start, history = 0, []
    net.resumed_from = 0
    if os.path.exists(ckpt):
        # A rerun continues where the last one stopped, with the schedule of the new --steps.
        state = torch.load(ckpt, map_location=device)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        start, history = min(state["step"], steps), state["history"]
        net.resumed_from = start
        sampler.rng = np.random.default_rng(seed + start)
        progress("training", start, steps, resumed=True)
    progress("training", start, steps)
    weights = batches.loss_weights(face.CROP_SIZE).to(device)
    net.train()
    freeze_norms(net)
    t0 = time.time()
    for step in range(start, steps):
        # Short runs (the tests') warm up over a tenth of their steps.
        lr = batches.learning_rate(step, steps, LR, min(WARMUP, max(1, steps // 10)))
        for g in opt.param_groups:
            g["lr"] = lr
        real = sampler.real is not None and sampler.rng.random() < REAL_SHARE
        image, mel, target, mouth, change = sampler.sample_real() if real else sampler.sample()
        image, mel, target, change = (t.to(device) for t in (image, mel, target, change))
        loss, pixel, _ = batches.loss(net, image, mel, target, change, weights,
                                      None if mouth is None else mouth.to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        history.append(round(float(pixel.item()), 5))
        done = step + 1
        if done % report_every == 0 or done == steps:
            recent = history[-report_every:]
            progress("training", done, steps, loss=round(sum(recent) / len(recent), 5),
                     seconds=round(time.time() - t0, 1))
        if done % CHECKPOINT_EVERY == 0 or done == steps:
            tmp = ckpt + ".tmp"
            torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "step": done,
                        "steps": steps, "history": history}, tmp)
            os.replace(tmp, ckpt)
    net.eval()
    return history


# ---- gate and install ---------------------------------------------------------------------------

def gate(net, idle_crops, limit=None):
    items = evaluate.load_held_out(HELD_OUT)
    if limit:
        items = [it for it in items if it[1] == "gate"][:limit] + [it for it in items if it[1] == "family"][:limit]
    with torch.no_grad():
        return evaluate.evaluate(net.cpu(), items, idle_crops)


def install(pkg: user_face.UserPackage, net, report: dict):
    """A copy of the package with the trained model, swapped in by rename."""
    parent, name = os.path.split(os.path.abspath(pkg.dir))
    stage = os.path.join(parent, f".{name}.installing-{os.getpid()}")
    shutil.rmtree(stage, ignore_errors=True)
    try:
        shutil.copytree(pkg.dir, stage, copy_function=_link_or_copy)
        for f in (pkg.manifest["model"]["unet"], pkg.manifest["model"]["audio_encoder"]):
            os.remove(os.path.join(stage, f))      # hard links: never write through to the old package
        export.export_onnx(net.cpu(), stage)
        manifest = dict(pkg.manifest)
        manifest["model"] = dict(manifest["model"], unet="unet.onnx", audio_encoder="audio_encoder.onnx")
        lic = manifest.get("license") if isinstance(manifest.get("license"), dict) else {"footage": manifest.get("license", "")}
        manifest["license"] = dict(lic, model="Apache-2.0, the demo model fine-tuned on this footage by lipsync avatar train")
        manifest["training"] = dict(manifest.get("training") or {}, state="trained", **report)
        with open(os.path.join(stage, "manifest.json"), "w") as f:
            json.dump(manifest, f, indent=1)
        old = os.path.join(parent, f".{name}.old-{os.getpid()}")
        os.rename(pkg.dir, old)
        os.rename(stage, pkg.dir)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("package")
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--utterances", type=int, default=UTTERANCES)
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--gate-limit", type=int, default=0, help="held-out utterances per set (0: all)")
    ap.add_argument("--no-install", action="store_true", help="train and measure only")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("note: CUDA is not available to this PyTorch; training on the CPU", file=sys.stderr)
        args.device = "cpu"
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(min(4, os.cpu_count() or 1))
    t0 = time.time()
    pkg = user_face.UserPackage(args.package)
    parent, name = os.path.split(os.path.abspath(args.package))
    work = os.path.join(parent, f".{name}.train")
    os.makedirs(work, exist_ok=True)
    net = load_base(args.package, pkg.manifest)
    data = build_data(pkg, work, args.utterances, SEED)
    t_data = time.time() - t0
    history = train_loop(net, data, work, args.steps, args.device, SEED)
    t_train = time.time() - t0 - t_data
    progress("quality gate", 0, 1)
    results = gate(net, data["idle_crops"], args.gate_limit or None)
    n = max(1, min(50, len(history) // 5))
    report = {"steps": args.steps, "resumed_from": net.resumed_from, "loss_first": round(float(np.mean(history[:n])), 5),
              "loss_last": round(float(np.mean(history[-n:])), 5), "held_out": results,
              "gate": {"r_min": GATE_R, "passed": bool(results["gate"]["r"] >= GATE_R and results["gate"]["best_lag"] == 0)},
              "seconds": {"data": round(t_data), "train": round(t_train), "total": round(time.time() - t0)},
              "device": args.device, "threads": torch.get_num_threads()}
    if report["gate"]["passed"] and not args.no_install:
        install(pkg, net, {k: report[k] for k in ("steps", "held_out", "gate", "seconds")})
        report["installed"] = True
        # The rendered dataset is large (about 1 GB) and can be made again; the checkpoint stays.
        for f in os.listdir(work):
            if f.startswith("data-"):
                os.remove(os.path.join(work, f))
    else:
        report["installed"] = False
    print("@result " + json.dumps(report), flush=True)
    return 0 if report["gate"]["passed"] or args.no_install else 3


if __name__ == "__main__":
    sys.exit(main())
