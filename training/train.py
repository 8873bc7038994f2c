"""Train the audio encoder and UNet jointly on the dataset, rendering the mouth targets as it goes.

Run: python3 training/train.py [cpu|cuda] [STEPS]   (reads training/work/dataset.npz, writes
training/work/model.pt)

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
from constants import AUDIO_CONTEXT, AUDIO_FEATURE_DIM  # noqa: E402

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")
SEED = 1234
STEPS = 2400
CLIPS, CLIP_LEN = 4, 4   # clips rendered for the pixel loss
AUDIO_CLIPS = 4          # further clips for the mouth-parameter loss alone
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
    """Training clips: CLIP_LEN consecutive frames of one utterance, heard in one of its versions.

    Mouth targets are rendered here, from the frame's mouth parameters on its idle frame, so the
    dataset holds only audio and parameters.
    """

    def __init__(self, data, rng: np.random.Generator):
        self.poses, self.idle_full, idle_crops = dataset.idle_frames()
        self.idle = torch.from_numpy(idle_crops).permute(0, 3, 1, 2).float() / 255.0
        self.idle_index = data["idle_index"]
        self.params = data["params"]
        self.mel = data["mel"]
        self.versions = int(data["versions"])
        utt = data["utterance"]
        counts = np.bincount(utt)
        mel_count = data["mel_count"]
        # First mel frame of version 0 of each utterance; versions follow one another.
        self.mel_start = np.concatenate([[0], np.cumsum(mel_count * self.versions)[:-1]])
        self.mel_count = mel_count
        self.start = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        self.end = self.start + np.repeat(counts, counts)
        self.utt = utt
        self.rng = rng

    def _clip(self):
        """(frames, [CLIP_LEN + 7] mel windows) of a random clip in a random version."""
        f = int(self.rng.integers(0, len(self.params)))
        s, e = self.start[f], self.end[f]
        f = min(f, e - CLIP_LEN) if e - s >= CLIP_LEN else s
        u = self.utt[f]
        v = int(self.rng.integers(0, self.versions))
        m0 = self.mel_start[u] + v * self.mel_count[u]
        mel = self.mel[m0:m0 + self.mel_count[u]]
        wins = [dataset.window(mel, g - s) for g in range(f - (AUDIO_CONTEXT - 1), f + CLIP_LEN)]
        # Frames before the utterance hear silence, as a session does before speech starts.
        return list(range(f, f + CLIP_LEN)), wins

    def sample(self, clips: int, render: bool):
        frames, mels = [], []
        for _ in range(clips):
            fr, wins = self._clip()
            frames += fr
            mels += wins
        frames = np.minimum(np.array(frames), len(self.params) - 1)
        params = torch.from_numpy(self.params[frames]).float()
        mel = torch.from_numpy(np.stack(mels))[:, None]          # [clips * (CLIP_LEN + 7), 1, 80, 16]
        if not render:
            return mel, params
        k = self.idle_index[frames]
        target = np.stack([face.render_mouth_crop(self.idle_full[i], self.poses[i], p)
                           for i, p in zip(k, self.params[frames])])
        # Quantised like the frames the server decodes.
        target = torch.from_numpy(np.round(target * 255) / 255).permute(0, 3, 1, 2).float()
        k = torch.from_numpy(k)
        same = torch.from_numpy(self.rng.random(len(frames)) < 0.5)
        ref_k = torch.where(same, k, torch.from_numpy(self.rng.integers(0, len(self.idle), len(frames))))
        image = torch.cat([self.idle[ref_k], masked(self.idle[k])], 1)
        change = (target - self.idle[k]).abs().mean(1, keepdim=True)
        return image, mel, target, params, change


def context_features(feats: torch.Tensor) -> torch.Tensor:
    """[clips * (CLIP_LEN + 7), D] encoder outputs -> [clips * CLIP_LEN, 8, D] windows."""
    per_clip = feats.reshape(-1, CLIP_LEN + AUDIO_CONTEXT - 1, AUDIO_FEATURE_DIM)
    windows = per_clip.unfold(1, AUDIO_CONTEXT, 1)              # [clips, CLIP_LEN, D, 8]
    return windows.permute(0, 1, 3, 2).reshape(-1, AUDIO_CONTEXT, AUDIO_FEATURE_DIM)


def train(data_path=None, out_path=None, steps=STEPS, seed=SEED, device="cpu"):
    data_path = data_path or os.path.join(WORK, "dataset.npz")
    out_path = out_path or os.path.join(WORK, "model.pt")
    torch.manual_seed(seed)
    # TRAIN_THREADS=2 is faster on an idle 2-core machine, slower on a busy one.
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", torch.get_num_threads())))
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
        image, mel, target, params, change = (t.to(device) for t in batches.sample(CLIPS, render=True))
        # More audio than pixels: extra clips teach the audio branch (through the mouth head)
        # to hear more voices and rooms per step, at the encoder's cost only.
        extra_mel, extra_params = (t.to(device) for t in batches.sample(AUDIO_CLIPS, render=False))
        feats = net.encoder(torch.cat([mel, extra_mel]))
        n_pix = mel.shape[0]
        embedding = net.unet.embed_audio(context_features(feats[:n_pix]))
        extra_embedding = net.unet.embed_audio(context_features(feats[n_pix:]))
        out = net.unet.decode(image.contiguous(memory_format=torch.channels_last), embedding)
        # Pixels the mouth changed weigh more than those it left alone.
        w = weights * (1.0 + CHANGE_WEIGHT * change)
        pixel_loss = (w * (out - target).abs()).mean() / w.mean()
        mouth_loss = F.mse_loss(net.mouth(torch.cat([embedding, extra_embedding])),
                                torch.cat([params, extra_params]))
        loss = pixel_loss + MOUTH_LOSS * mouth_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step}/{steps} pixel {pixel_loss.item():.4f} mouth {mouth_loss.item():.4f} "
                  f"lr {lr:.2e} {time.time() - t0:.0f}s", flush=True)
    net.eval()
    tmp = out_path + ".tmp"
    torch.save({k: v.cpu() for k, v in net.state_dict().items()}, tmp)
    os.replace(tmp, out_path)
    print(f"trained {steps} steps in {time.time() - t0:.0f}s -> {out_path}")
    return out_path


if __name__ == "__main__":
    train(device=sys.argv[1] if len(sys.argv) > 1 else "cpu",
          steps=int(sys.argv[2]) if len(sys.argv) > 2 else STEPS)
