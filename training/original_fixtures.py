"""Datasets in the SyncTalk_2D / Ultralight-Digital-Human layout, with random-weight models, for tests.

Nobody's weights are needed: the networks are this project's re-creations (originals.py) with
fixed random weights, exported the way the originals export them, next to frames, landmarks,
audio and precomputed features laid out as the originals' preprocessing leaves them:

    OUT/synctalk/        SyncTalk_2D, "ave" mode, 25 fps, mobile width
        full_body_img/{i}.jpg  landmarks/{i}.lms  aud.wav  aud_ave.npy
        unet.onnx            fixed batch 1, inputs "input" [1, 6, 320, 320] and "audio" [1, 32, 16, 16], BGR
        unet_rgb.onnx        the same network reading and writing RGB (channels swapped)
        audio_encoder.onnx   the "ave" encoder, mel [B, 1, 80, 16] -> [B, 512]  (+ audio_encoder.json)
    OUT/ultralight/      Ultralight-Digital-Human, "wenet" mode, 20 fps, mobile width
        full_body_img/  landmarks/  aud.wav  aud_wenet.npy
        unet.onnx            dynamic batch, "audio" [B, 128, 16, 32]
        unet_any_size.onnx   the same with open image sides (fails inside the graph at 320 px)
        audio_encoder.onnx   a WeNet-shaped stand-in: 10960 samples -> [16, 512] (+ audio_encoder.json)
    OUT/synctalk-full/   (--full) SyncTalk_2D "ave" at full width, dynamic batch, for benchmarks

    /usr/bin/python3 -m training.original_fixtures OUT [--full] [--frames N]   # from the repository root

The packages' own track features follow the originals' indexing exactly: SyncTalk_2D's mel
windows start at int(80 * i / 25) (moved back to fit at the end), the encoder's outputs get their
first and last rows repeated once; Ultralight's WeNet features are one chunk per 20 fps frame.
"""
import argparse
import json
import os
import wave

import numpy as np
import torch
import torch.nn as nn
from PIL import Image

from . import export_original as X, mel as melmod, originals as O

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO = os.path.join(ROOT, "models", "demo")
SPEECH = os.path.join(ROOT, "models", "heldout", "gate-0.wav")
WENET_WINDOW = 10960     # 67 fbank frames (25 ms windows, 10 ms hop): the original's chunk
WENET_HOP = 800          # one chunk per 20 fps frame


class WenetStandIn(nn.Module):
    """Shaped like Ultralight's WeNet features, not trained: 10960 samples -> [16, 512]."""

    def __init__(self):
        super().__init__()
        self.frames = nn.Conv1d(1, 64, 400, stride=160)      # 67 frames, like the fbank
        self.encode = nn.Conv1d(64, 512, 4, stride=4)        # 16 frames, like 4x subsampling

    def forward(self, waveform):
        x = torch.relu(self.frames(waveform.unsqueeze(1)))
        return torch.tanh(self.encode(x)).transpose(1, 2)


def read_wav(path: str) -> np.ndarray:
    with wave.open(path) as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def write_wav(path: str, samples: np.ndarray) -> None:
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        # Exact for samples read from 16-bit PCM (k / 32768), so the features computed from
        # `samples` are those of the file.
        w.writeframes(np.clip(np.round(samples * 32768), -32768, 32767).astype("<i2").tobytes())


def write_frames_and_landmarks(out: str, n: int) -> None:
    """The demo avatar's first n frames as full_body_img/{i}.jpg, and 110-point .lms files whose
    points 1, 31 and 52 frame a lower-face crop a little wider than the demo's mouth box."""
    with open(os.path.join(DEMO, "manifest.json")) as f:
        manifest = json.load(f)
    os.makedirs(os.path.join(out, "full_body_img"), exist_ok=True)
    os.makedirs(os.path.join(out, "landmarks"), exist_ok=True)
    rng = np.random.default_rng(5)
    for i in range(n):
        Image.open(os.path.join(DEMO, "frames", f"{i:04d}.jpg")).save(os.path.join(out, "full_body_img", f"{i}.jpg"), quality=95)
        x, y, w, _ = manifest["crop_boxes"][i]
        points = np.stack([rng.uniform(x, x + w, 110), rng.uniform(y - 40, y + w, 110)], axis=1)
        points[1] = (x - 12 + 0.4, y + 40.0)        # left cheek: xmin
        points[31] = (x + w + 12 + 0.7, y + 40.0)   # right cheek: xmax (width 152)
        points[52] = (x + w / 2, y - 16 + 0.3)      # below the nose: ymin
        with open(os.path.join(out, "landmarks", f"{i}.lms"), "w") as f:
            for px, py in points:
                f.write(f"{px} {py}\n")


def ave_windows(samples: np.ndarray) -> np.ndarray:
    """SyncTalk_2D's encoder inputs, one per 25 fps frame: 16 mel frames from int(80 * i / 25),
    the last moved back to end at the last mel frame; [count, 1, 80, 16]."""
    spec = melmod.mel_spectrogram(samples)                     # [mel frames, 80]
    count = int((spec.shape[0] - 16) / 80.0 * 25) + 2
    windows = []
    for i in range(count):
        start = int(80.0 * (i / 25.0))
        end = start + 16
        if end > spec.shape[0]:
            end = spec.shape[0]
            start = end - 16
        windows.append(spec[start:end].T)
    return np.stack(windows)[:, None].astype(np.float32)


def ave_features(encoder: O.AveEncoder, samples: np.ndarray) -> np.ndarray:
    """aud_ave.npy as SyncTalk_2D's preprocessing makes it: the encoder's output per window, then
    the first and last rows repeated once."""
    with torch.no_grad():
        out = encoder(torch.from_numpy(ave_windows(samples))).numpy()
    return np.concatenate([out[:1], out, out[-1:]]).astype(np.float32)


def wenet_features(encoder: nn.Module, samples: np.ndarray) -> np.ndarray:
    """aud_wenet.npy: one [16, 512] chunk per 20 fps frame, zeros past the end of the audio."""
    count = int(np.ceil(len(samples) / WENET_HOP))
    padded = np.concatenate([samples, np.zeros(WENET_WINDOW, np.float32)])
    chunks = np.stack([padded[k * WENET_HOP:k * WENET_HOP + WENET_WINDOW] for k in range(count)])
    with torch.no_grad():
        return encoder(torch.from_numpy(chunks)).numpy().astype(np.float32)


def synctalk(out: str, frames: int, channels, dynamic: bool, twin: bool) -> None:
    os.makedirs(out, exist_ok=True)
    write_frames_and_landmarks(out, frames)
    speech = read_wav(SPEECH)[: frames * 640]
    write_wav(os.path.join(out, "aud.wav"), speech)
    encoder = O.randomize(O.AveEncoder(), 11, (torch.from_numpy(ave_windows(speech)),))
    np.save(os.path.join(out, "aud_ave.npy"), ave_features(encoder, speech))
    X.export_ave_encoder(encoder, out)
    net = O.randomize(O.LipSyncUNet("synctalk_2d", "ave", channels), 12, O.example_inputs("synctalk_2d", "ave"))
    X.export_unet(net, os.path.join(out, "unet.onnx"), dynamic_batch=dynamic)
    if twin:
        X.export_unet(O.swap_channels(net), os.path.join(out, "unet_rgb.onnx"), dynamic_batch=dynamic)


def ultralight(out: str, frames: int) -> None:
    os.makedirs(out, exist_ok=True)
    write_frames_and_landmarks(out, frames)
    speech = read_wav(SPEECH)[: frames * 800]
    write_wav(os.path.join(out, "aud.wav"), speech)
    torch.manual_seed(13)
    encoder = WenetStandIn().eval()
    np.save(os.path.join(out, "aud_wenet.npy"), wenet_features(encoder, speech))
    X.export_waveform_encoder(encoder, out, WENET_WINDOW, 0, (16, 512))
    net = O.randomize(O.LipSyncUNet("ultralight", "wenet", O.MOBILE), 14, O.example_inputs("ultralight", "wenet"))
    X.export_unet(net, os.path.join(out, "unet.onnx"), dynamic_batch=True)
    X.export_unet(net, os.path.join(out, "unet_any_size.onnx"), dynamic_batch=True, dynamic_size=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description="datasets in the original layouts, random weights")
    parser.add_argument("out")
    parser.add_argument("--full", action="store_true", help="only the full-width SyncTalk_2D dataset, for benchmarks")
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    if args.full:
        synctalk(os.path.join(args.out, "synctalk-full"), args.frames, O.FULL, dynamic=True, twin=False)
    else:
        synctalk(os.path.join(args.out, "synctalk"), args.frames, O.MOBILE, dynamic=False, twin=True)
        ultralight(os.path.join(args.out, "ultralight"), args.frames)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
