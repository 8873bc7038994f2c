"""Train the audio encoder and UNet jointly on the dataset, rendering the mouth targets as it goes.

Run from the repository root (reads training/work/dataset.npz, writes training/work/model.pt):

    nice -n 19 env TRAIN_THREADS=2 /usr/bin/python3 -m training.train [cpu|cuda] [STEPS]

Batches, loss and schedule: batches.py (shared with finetune.py).
"""
import os
import sys
import time

import numpy as np
import torch

from . import batches, dataset, face, model as modelmod

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")
SEED = 1234
STEPS = 2400
AUDIO_CLIPS = 4          # further clips for the mouth-parameter loss alone
LR = 2e-3
WARMUP = 100


class Batches:
    """Clips of the dataset with their mouth targets, rendered here from the frame's mouth
    parameters on its idle frame, so the dataset holds only audio and parameters."""

    def __init__(self, data, rng: np.random.Generator):
        self.poses, self.idle_full, idle_crops = dataset.idle_frames()
        self.idle = torch.from_numpy(idle_crops).permute(0, 3, 1, 2).float() / 255.0
        self.idle_index = data["idle_index"]
        self.clips = batches.Clips(data, rng)
        self.rng = rng

    def sample(self, clips: int):
        """(image, mel, target, params, change) of `clips` clips."""
        frames, mel, params = self.clips.sample(clips)
        k = self.idle_index[frames]
        target = np.stack([face.render_mouth_crop(self.idle_full[i], self.poses[i], p)
                           for i, p in zip(k, self.clips.params[frames])])
        # Quantised like the frames the server decodes.
        target = torch.from_numpy(np.round(target * 255) / 255).permute(0, 3, 1, 2).float()
        image = batches.model_input(self.idle, k, self.rng)
        change = (target - self.idle[k]).abs().mean(1, keepdim=True)
        return image, mel, target, params, change


def train(data_path=None, out_path=None, steps=STEPS, seed=SEED, device="cpu"):
    data_path = data_path or os.path.join(WORK, "dataset.npz")
    out_path = out_path or os.path.join(WORK, "model.pt")
    torch.manual_seed(seed)
    # TRAIN_THREADS=2 is faster on an idle 2-core machine, slower on a busy one.
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", torch.get_num_threads())))
    rng = np.random.default_rng(seed)
    data = dict(np.load(data_path))
    source = Batches(data, rng)
    net = modelmod.LipSync().to(device, memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    weights = batches.loss_weights(face.CROP_SIZE).to(device)
    t0 = time.time()
    net.train()
    for step in range(steps):
        lr = batches.learning_rate(step, steps, LR, WARMUP)
        for g in opt.param_groups:
            g["lr"] = lr
        image, mel, target, params, change = (t.to(device) for t in source.sample(batches.CLIPS))
        _, extra_mel, extra_params = source.clips.sample(AUDIO_CLIPS)
        loss, pixel_loss, mouth_loss = batches.loss(
            net, image.contiguous(memory_format=torch.channels_last), mel, target, change, weights,
            params, extra_mel.to(device), extra_params.to(device))
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
