"""Export the trained model to ONNX and write the demo avatar package.

Run from the repository root (after train.py; writes models/demo/ and models/reference/):

    /usr/bin/python3 -m training.export

models/demo/           the avatar package the server loads (manifest.json, frames, audio, ONNX)
models/reference/      tensors the TypeScript tests compare against (mel, encoder, UNet outputs)
"""
import json
import os
import re
import shutil

import numpy as np
import torch
from PIL import Image

from . import constants as C, dataset, face, mel as melmod, model as modelmod, speech

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "training", "work")
PACKAGE = os.path.join(ROOT, "models", "demo")
REFERENCE = os.path.join(ROOT, "models", "reference")
OPSET = 17
JPEG_QUALITY = 90
OWN_AUDIO_TEXT = "Hello! I am the lipsync demo. Give me any speech, and I will say it with you."
OWN_AUDIO_VOICE = "en-us+f3"


def export_onnx(net: modelmod.LipSync, out_dir: str):
    net.eval()
    enc_path = os.path.join(out_dir, "audio_encoder.onnx")
    unet_path = os.path.join(out_dir, "unet.onnx")
    torch.onnx.export(net.encoder, (torch.zeros(1, 1, C.N_MELS, C.MEL_WINDOW),), enc_path,
                      input_names=["mel"], output_names=["feature"], opset_version=OPSET,
                      dynamic_axes={"mel": {0: "batch"}, "feature": {0: "batch"}})
    s = C.MODEL_SIZE
    torch.onnx.export(net.unet, (torch.zeros(1, 6, s, s), torch.zeros(1, C.AUDIO_CONTEXT, C.AUDIO_FEATURE_DIM)),
                      unet_path, input_names=["image", "audio"], output_names=["output"],
                      opset_version=OPSET,
                      dynamic_axes={"image": {0: "batch"}, "audio": {0: "batch"}, "output": {0: "batch"}})


def own_audio(n_frames: int) -> np.ndarray:
    """The avatar's own audio track: one sentence, padded or cut to the loop's length."""
    spec = {"engine": "espeak", "voice": OWN_AUDIO_VOICE, "lang": "en", "texts": [OWN_AUDIO_TEXT],
            "rate": 160, "pitch": 55, "range": 60, "stretch": 1.0, "pitch_cents": 0, "tempo": 1.0,
            "pause_s": 0.0, "lead_s": 0.2, "tail_s": 0.1}
    samples, _ = dataset.synthesize_plain(spec, speech.Espeak())
    total = n_frames * C.SAMPLES_PER_FRAME
    return np.pad(samples, (0, max(0, total - len(samples))))[:total]


def manifest(poses, macs: float) -> dict:
    boxes = []
    for p in poses:
        ox, oy = face.crop_origin(p)
        boxes.append([ox, oy, face.CROP_SIZE, face.CROP_SIZE])
    return {
        "format": "lipsync-avatar",
        "format_version": 1,
        "name": "demo",
        "description": "The lipsync demo avatar: a NASA portrait animated by the project's own model.",
        "fps": C.FPS,
        "frame_count": len(poses),
        "width": face.FRAME_SIZE,
        "height": face.FRAME_SIZE,
        "frames": "frames/{index:04d}.jpg",
        "audio_track": "audio.wav",
        "crop_boxes": boxes,
        "mouth_box": list(face.MOUTH_BOX),
        "feather": face.FEATHER,
        "idle": {"policy": "ping-pong"},
        "model": {
            "unet": "unet.onnx",
            "audio_encoder": "audio_encoder.onnx",
            "input_size": C.MODEL_SIZE,
            "inputs": {"image": "image", "audio": "audio", "mel": "mel"},
            "outputs": {"image": "output", "feature": "feature"},
            "image_layout": "NCHW: reference RGB (3), masked RGB (3)",
            "channel_order": "RGB",
            "value_range": [0.0, 1.0],
            "audio_context": C.AUDIO_CONTEXT,
            "audio_feature_dim": C.AUDIO_FEATURE_DIM,
            "lookahead_frames": C.LOOKAHEAD_FRAMES,
            "gmac_per_frame": round(macs / 1e9, 3),
            "mel": {
                "sample_rate": C.SAMPLE_RATE, "n_fft": C.N_FFT, "hop_length": C.HOP_LENGTH,
                "win_length": C.WIN_LENGTH, "n_mels": C.N_MELS, "f_min": C.F_MIN, "f_max": C.F_MAX,
                "preemphasis": C.PREEMPHASIS, "min_level_db": C.MIN_LEVEL_DB,
                "ref_level_db": C.REF_LEVEL_DB, "max_abs_value": C.MAX_ABS_VALUE,
                "window_frames": C.MEL_WINDOW, "window_offset": C.MEL_OFFSET,
            },
        },
        "license": {
            "footage": "Public domain",
            "source": "astronaut.png from scikit-image (Debian python3-skimage): NASA portrait of "
                      "astronaut Eileen Collins, a work of the US government",
            "model": "Apache-2.0, trained by training/make_demo.py from synthetic speech",
        },
    }


def write_f32(path: str, array: np.ndarray):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)


@torch.no_grad()
def write_reference(net, samples, idle_crops, out_dir):
    """Mel, encoder features and two UNet outputs of the own audio track, for the TS tests."""
    os.makedirs(out_dir, exist_ok=True)
    wav_path = os.path.join(out_dir, "speech.wav")
    speech.write_wav(wav_path, samples, C.SAMPLE_RATE)
    samples, _ = speech.read_wav(wav_path)     # exactly what the server will decode
    mel = melmod.mel_spectrogram(samples)
    n = len(samples) // C.SAMPLES_PER_FRAME
    windows = melmod.frame_windows(mel, n)
    feats = net.encoder(torch.from_numpy(windows)[:, None]).numpy()
    silence_feat = net.encoder(torch.full((1, 1, C.N_MELS, C.MEL_WINDOW), -C.MAX_ABS_VALUE)).numpy()
    frames = [0, 40]
    history = np.concatenate([np.repeat(silence_feat, C.AUDIO_CONTEXT - 1, 0), feats])
    audio = np.stack([history[f:f + C.AUDIO_CONTEXT] for f in frames]).astype(np.float32)
    idle = torch.from_numpy(idle_crops[frames]).permute(0, 3, 1, 2).float() / 255.0
    x0, y0, x1, y1 = face.MOUTH_BOX
    masked = idle.clone()
    masked[:, :, y0:y1, x0:x1] = 0
    image = torch.cat([idle, masked], 1).numpy()
    out = net.unet(torch.from_numpy(image), torch.from_numpy(audio)).numpy()
    write_f32(os.path.join(out_dir, "mel.f32"), mel)
    write_f32(os.path.join(out_dir, "features.f32"), feats)
    write_f32(os.path.join(out_dir, "unet_image.f32"), image)
    write_f32(os.path.join(out_dir, "unet_audio.f32"), audio)
    write_f32(os.path.join(out_dir, "unet_output.f32"), out)
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump({"audio": "speech.wav",
                   "mel": {"file": "mel.f32", "shape": list(mel.shape)},
                   "features": {"file": "features.f32", "shape": list(feats.shape)},
                   "unet": {"frames": frames, "image": {"file": "unet_image.f32", "shape": list(image.shape)},
                            "audio": {"file": "unet_audio.f32", "shape": list(audio.shape)},
                            "output": {"file": "unet_output.f32", "shape": list(out.shape)}}},
                  f, indent=1)


def export(model_path=None):
    model_path = model_path or os.path.join(WORK, "model.pt")
    net = modelmod.LipSync()
    net.load_state_dict(torch.load(model_path))
    net.eval()
    if os.path.isdir(PACKAGE):
        for name in ("frames",):
            shutil.rmtree(os.path.join(PACKAGE, name), ignore_errors=True)
    os.makedirs(os.path.join(PACKAGE, "frames"), exist_ok=True)
    src = face.load_source()
    poses = face.idle_poses()
    idle_crops = []
    for k, pose in enumerate(poses):
        frame = np.round(face.render_idle(src, pose) * 255).astype(np.uint8)
        Image.fromarray(frame).save(os.path.join(PACKAGE, "frames", f"{k:04d}.jpg"), quality=JPEG_QUALITY)
        # The reference crops come from the decoded JPEG, as the server sees them.
        decoded = np.asarray(Image.open(os.path.join(PACKAGE, "frames", f"{k:04d}.jpg")).convert("RGB"))
        idle_crops.append(face.crop(decoded, pose))
    idle_crops = np.stack(idle_crops)
    samples = own_audio(len(poses))
    speech.write_wav(os.path.join(PACKAGE, "audio.wav"), samples, C.SAMPLE_RATE)
    export_onnx(net, PACKAGE)
    s = C.MODEL_SIZE
    macs = modelmod.count_macs(net.unet, torch.zeros(1, 6, s, s), torch.zeros(1, C.AUDIO_CONTEXT, C.AUDIO_FEATURE_DIM)) + \
        modelmod.count_macs(net.encoder, torch.zeros(1, 1, C.N_MELS, C.MEL_WINDOW))
    text = json.dumps(manifest(poses, macs), indent=1)
    # One crop box per line keeps the manifest readable.
    text = re.sub(r"\[\s+(-?\d+),\s+(-?\d+),\s+(-?\d+),\s+(-?\d+)\s+\]", r"[\1, \2, \3, \4]", text)
    with open(os.path.join(PACKAGE, "manifest.json"), "w") as f:
        f.write(text + "\n")
    write_reference(net, samples, idle_crops, REFERENCE)
    print(f"exported {PACKAGE} ({macs / 1e9:.3f} GMAC per frame)")


if __name__ == "__main__":
    export()
