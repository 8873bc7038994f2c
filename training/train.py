"""Train the audio encoder and UNet jointly on the rendered dataset.

Run: python3 training/train.py   (reads training/work/dataset.npz, writes training/work/model.pt)

A batch is CLIPS clips of CLIP_LEN consecutive frames: consecutive frames share most of their
audio context, so the encoder runs on CLIP_LEN + 7 windows per clip instead of 8 per frame.
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dataset  # noqa: E402
import face  # noqa: E402
import model as modelmod  # noqa: E402
from constants import AUDIO_CONTEXT, AUDIO_FEATURE_DIM, MAX_ABS_VALUE, MEL_WINDOW, N_MELS  # noqa: E402

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")
SEED = 1234
STEPS = 2600
CLIPS, CLIP_LEN = 4, 4
LR = 2e-3
WARMUP = 100
CHANGE_WEIGHT = 10.0     # extra loss weight per unit of pixel change from the idle frame
MOUTH_LOSS = 1.0         # weight of the mouth-parameter head


def masked(crops: torch.Tensor) -> torch.Tensor:
    """The masked input: the mouth box blanked, as the engine does at load."""
    x0, y0, x1, y1 = face.MOUTH_BOX
    out = crops.clone()
    out[:, :, y0:y1, x0:x1] = 0.0
    return out


def loss_weights(size: int) -> torch.Tensor:
    """Per-pixel weights: the mouth box matters; the rest is pasted from the source anyway."""
    w = torch.full((1, 1, size, size), 0.05)
    x0, y0, x1, y1 = face.MOUTH_BOX
    w[:, :, y0:y1, x0:x1] = 1.0
    return w


class Batches:
    def __init__(self, data, rng: np.random.Generator):
        self.targets = data["targets"]
        self.idle = torch.from_numpy(data["idle_crops"]).permute(0, 3, 1, 2).float() / 255.0
        self.windows = data["windows"] if "windows" in data else dataset.frame_windows(data)
        self.idle_index = data["idle_index"]
        self.params = data["params"]
        utt = data["utterance"]
        self.start = np.zeros(len(utt), dtype=np.int64)     # first frame of each frame's utterance
        self.end = np.zeros(len(utt), dtype=np.int64)
        bounds = np.flatnonzero(np.diff(utt)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(utt)]):
            self.start[a:b], self.end[a:b] = a, b
        self.rng = rng
        self.silence = np.full((N_MELS, MEL_WINDOW), -MAX_ABS_VALUE, dtype=np.float32)

    def sample(self):
        frames, mels = [], []
        for _ in range(CLIPS):
            f = int(self.rng.integers(0, len(self.targets)))
            s, e = self.start[f], self.end[f]
            f = min(f, e - CLIP_LEN) if e - s >= CLIP_LEN else s
            for i in range(-(AUDIO_CONTEXT - 1), CLIP_LEN):
                g = f + i
                mels.append(self.windows[g].astype(np.float32) if s <= g < e else self.silence)
            frames.extend(range(f, f + CLIP_LEN))
        frames = np.array(frames)
        target = torch.from_numpy(self.targets[frames]).permute(0, 3, 1, 2).float() / 255.0
        params = torch.from_numpy(self.params[frames]).float()
        k = torch.from_numpy(self.idle_index[frames])
        same = torch.from_numpy(self.rng.random(len(frames)) < 0.5)
        ref_k = torch.where(same, k, torch.from_numpy(self.rng.integers(0, len(self.idle), len(frames))))
        image = torch.cat([self.idle[ref_k], masked(self.idle[k])], 1)
        mel = torch.from_numpy(np.stack(mels))[:, None]           # [CLIPS * (CLIP_LEN + 7), 1, 80, 16]
        change = (target - self.idle[k]).abs().mean(1, keepdim=True)
        return image, mel, target, params, change


def context_features(feats: torch.Tensor) -> torch.Tensor:
    """[CLIPS * (CLIP_LEN + 7), D] encoder outputs -> [CLIPS * CLIP_LEN, 8, D] windows."""
    per_clip = feats.reshape(CLIPS, CLIP_LEN + AUDIO_CONTEXT - 1, AUDIO_FEATURE_DIM)
    windows = per_clip.unfold(1, AUDIO_CONTEXT, 1)              # [CLIPS, CLIP_LEN, D, 8]
    return windows.permute(0, 1, 3, 2).reshape(CLIPS * CLIP_LEN, AUDIO_CONTEXT, AUDIO_FEATURE_DIM)


def train(data_path=None, out_path=None, steps=STEPS, seed=SEED, device="cpu"):
    data_path = data_path or os.path.join(WORK, "dataset.npz")
    out_path = out_path or os.path.join(WORK, "model.pt")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = dict(np.load(data_path))
    batches = Batches(data, rng)
    net = modelmod.LipSync().to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    weights = loss_weights(face.CROP_SIZE).to(device)
    t0 = time.time()
    net.train()
    for step in range(steps):
        lr = LR * min(1.0, (step + 1) / WARMUP) * 0.5 * (1 + math.cos(math.pi * step / steps))
        for g in opt.param_groups:
            g["lr"] = lr
        image, mel, target, params, change = (t.to(device) for t in batches.sample())
        embedding = net.unet.embed_audio(context_features(net.encoder(mel)))
        out = net.unet.decode(image.contiguous(memory_format=torch.channels_last), embedding)
        # Pixels the mouth changed weigh more than those it left alone.
        w = weights * (1.0 + CHANGE_WEIGHT * change)
        pixel_loss = (w * (out - target).abs()).mean() / w.mean()
        mouth_loss = F.mse_loss(net.mouth(embedding), params)
        loss = pixel_loss + MOUTH_LOSS * mouth_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step}/{steps} pixel {pixel_loss.item():.4f} mouth {mouth_loss.item():.4f} "
                  f"lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
    net.eval()
    torch.save({k: v.cpu() for k, v in net.state_dict().items()}, out_path)
    print(f"trained {steps} steps in {time.time() - t0:.0f}s -> {out_path}")
    return out_path


if __name__ == "__main__":
    train(device=sys.argv[1] if len(sys.argv) > 1 else "cpu")
