"""Training batches, the loss and the schedule, shared by train.py (the demo model) and finetune.py
(one user's face).

A batch is CLIPS clips of CLIP_LEN consecutive frames of one utterance: consecutive frames share
most of their audio context, so the encoder runs on CLIP_LEN + 7 windows per clip instead of 8 per
frame. Each clip is heard in one random version of its utterance's audio. Frames before the
utterance hear silence, as a session does before speech starts.

The loss: L1 on the pixels, weighted towards the mouth box and towards the pixels the mouth
changed, plus the mean squared error of the mouth parameters (jaw, closure, width, round) read off
the audio embedding by a training-only head, which teaches the audio branch far faster than the
pixels alone.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

from . import dataset, face
from .constants import AUDIO_CONTEXT, AUDIO_FEATURE_DIM

CLIPS, CLIP_LEN = 4, 4
CHANGE_WEIGHT = 10.0     # extra loss weight per unit of pixel change from the idle frame
MOUTH_LOSS = 1.0         # weight of the mouth-parameter head
SAME_REFERENCE = 0.5     # share of frames whose reference crop is their own idle frame


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


def learning_rate(step: int, steps: int, peak: float, warmup: int) -> float:
    """Linear warm-up over `warmup` steps, then a cosine down to 0 at `steps`."""
    return peak * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))


def context_features(feats: torch.Tensor) -> torch.Tensor:
    """[clips * (CLIP_LEN + 7), D] encoder outputs -> [clips * CLIP_LEN, 8, D] windows."""
    per_clip = feats.reshape(-1, CLIP_LEN + AUDIO_CONTEXT - 1, AUDIO_FEATURE_DIM)
    windows = per_clip.unfold(1, AUDIO_CONTEXT, 1)              # [clips, CLIP_LEN, D, 8]
    return windows.permute(0, 1, 3, 2).reshape(-1, AUDIO_CONTEXT, AUDIO_FEATURE_DIM)


class Clips:
    """Clips of CLIP_LEN consecutive frames of one utterance, each in a random version of its audio.

    data: per frame `params` [N, 4] and `utterance` [N]; per utterance `mel_count`, and `mel`
    holding `versions` versions of each utterance's mel frames one after another.
    """

    def __init__(self, data, rng: np.random.Generator):
        self.params = data["params"]
        self.mel = data["mel"]
        self.versions = int(data.get("versions", 1))
        self.utt = data["utterance"]
        counts = np.bincount(self.utt)
        self.mel_count = data["mel_count"]
        # First mel frame of version 0 of each utterance.
        self.mel_start = np.concatenate([[0], np.cumsum(self.mel_count * self.versions)[:-1]])
        self.start = np.repeat(np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        self.end = self.start + np.repeat(counts, counts)
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
        return list(range(f, f + CLIP_LEN)), wins

    def sample(self, clips: int):
        """(frame indices [clips * CLIP_LEN], mel [clips * (CLIP_LEN + 7), 1, 80, 16], params)."""
        frames, mels = [], []
        for _ in range(clips):
            fr, wins = self._clip()
            frames += fr
            mels += wins
        frames = np.minimum(np.array(frames), len(self.params) - 1)
        mel = torch.from_numpy(np.stack(mels))[:, None]
        return frames, mel, torch.from_numpy(self.params[frames]).float()


def model_input(idle: torch.Tensor, k: np.ndarray, rng: np.random.Generator, same=SAME_REFERENCE):
    """(reference | masked) images of idle frames `k`; the reference is frame k itself or, for a
    share 1 - same, another idle frame, so the model cannot rely on the reference's pose."""
    k = torch.from_numpy(np.asarray(k))
    own = torch.from_numpy(rng.random(len(k)) < same)
    ref_k = torch.where(own, k, torch.from_numpy(rng.integers(0, len(idle), len(k))))
    return torch.cat([idle[ref_k], masked(idle[k])], 1)


def pixel_loss(out, target, change, weights):
    """Weighted L1: pixels the mouth changed (|target - idle|) weigh more than those it left."""
    w = weights * (1.0 + CHANGE_WEIGHT * change)
    return (w * (out - target).abs()).mean() / w.mean()


def loss(net, image, mel, target, change, weights, params=None, extra_mel=None, extra_params=None):
    """(total, pixel, mouth) of one batch. `extra_mel` clips teach the audio branch alone (through
    the mouth head): more voices and rooms per step, at the encoder's cost only."""
    n_pix = mel.shape[0]
    feats = net.encoder(mel if extra_mel is None else torch.cat([mel, extra_mel]))
    embedding = net.unet.embed_audio(context_features(feats[:n_pix]))
    out = net.unet.decode(image, embedding)
    pixel = pixel_loss(out, target, change, weights)
    if params is None:
        return pixel, pixel, None
    if extra_mel is not None:
        embedding = torch.cat([embedding, net.unet.embed_audio(context_features(feats[n_pix:]))])
        params = torch.cat([params, extra_params])
    mouth = F.mse_loss(net.mouth(embedding), params)
    return pixel + MOUTH_LOSS * mouth, pixel, mouth
