"""Export a trained SyncTalk_2D or Ultralight-Digital-Human model to the ONNX files lipsync serves.

For users who trained with either project: the checkpoint loads into this repository's
re-creation of the network (training/originals.py, same state_dict names), and is exported the
way the originals export it (inputs "input" and "audio", output "output", opset 11, batch fixed
to 1 unless --dynamic-batch, which lets the server batch several sessions' frames per run).
Then `lipsync avatar import DATASET --name NAME --out ROOT` builds the avatar package.

    # the UNet (SyncTalk_2D: checkpoint/<name>/<epoch>.pth; Ultralight: the --save_dir .pth)
    python3 -m training.export_original unet CHECKPOINT.pth --family synctalk_2d --mode ave --out DATASET/ --dynamic-batch
    # SyncTalk_2D's "ave" audio encoder (model/checkpoints/audio_visual_encoder.pth)
    python3 -m training.export_original ave-encoder audio_visual_encoder.pth --out DATASET/
    # HuBERT (hubert mode), needs the transformers package and the model the features came from
    python3 -m training.export_original hubert facebook/hubert-large-ls960-ft --out DATASET/

Each writes its ONNX file and, for audio encoders, `audio_encoder.json` (kind, window) which the
importer reads. Run from the root of the lipsync checkout (paths may be absolute or relative to it)
with Debian's /usr/bin/python3 (torch 1.13) or any PyTorch >= 1.13.
"""
import argparse
import json
import os

import torch
import torch.nn as nn

from . import originals as O

UNET_OPSET = 11        # the originals' export
ENCODER_OPSET = 13


def load_state(path: str) -> dict:
    """A state_dict from a checkpoint file: plain, wrapped in {"state_dict": ...}, or DataParallel's."""
    state = torch.load(path, map_location="cpu")
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise SystemExit(f"{path}: not a state_dict checkpoint")
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def export_unet(net: O.LipSyncUNet, path: str, dynamic_batch: bool = False, dynamic_size: bool = False) -> None:
    """ONNX with inputs "input" [B, 6, S, S] and "audio" [B, ...], output "output" [B, 3, S, S].
    `dynamic_size` leaves the image sides open (the tests use it to reach a shape error inside
    the graph)."""
    size = O.FAMILIES[net.family][0]
    image = torch.zeros(1, 6, size, size)
    audio = torch.zeros(1, *O.AUDIO[(net.family, net.mode)][0])
    axes = None
    if dynamic_batch or dynamic_size:
        sides = {2: "height", 3: "width"} if dynamic_size else {}
        batch = {0: "batch"} if dynamic_batch else {}
        axes = {"input": {**batch, **sides}, "audio": dict(batch), "output": {**batch, **sides}}
    with torch.no_grad():
        torch.onnx.export(net.eval(), (image, audio), path, input_names=["input", "audio"], output_names=["output"],
                          opset_version=UNET_OPSET, dynamic_axes=axes)


def export_ave_encoder(net: O.AveEncoder, out_dir: str) -> None:
    """audio_encoder.onnx: "mel" [B, 1, 80, 16] -> "feature" [B, 512], and its sidecar."""
    with torch.no_grad():
        torch.onnx.export(net.eval(), (torch.zeros(1, 1, 80, 16),), os.path.join(out_dir, "audio_encoder.onnx"),
                          input_names=["mel"], output_names=["feature"], opset_version=ENCODER_OPSET,
                          dynamic_axes={"mel": {0: "batch"}, "feature": {0: "batch"}})
    write_sidecar(out_dir, {"kind": "mel", "input": "mel", "output": "feature"})


def export_waveform_encoder(net: nn.Module, out_dir: str, window_samples: int, offset_samples: int, output_dims) -> None:
    """audio_encoder.onnx: "waveform" [B, window_samples] (16 kHz) -> "feature" [B, *output_dims]."""
    with torch.no_grad():
        torch.onnx.export(net.eval(), (torch.zeros(1, window_samples),), os.path.join(out_dir, "audio_encoder.onnx"),
                          input_names=["waveform"], output_names=["feature"], opset_version=ENCODER_OPSET,
                          dynamic_axes={"waveform": {0: "batch"}, "feature": {0: "batch"}})
    write_sidecar(out_dir, {"kind": "waveform", "input": "waveform", "output": "feature", "window_samples": window_samples,
                            "offset_samples": offset_samples, "output_dims": list(output_dims)})


def write_sidecar(out_dir: str, spec: dict) -> None:
    with open(os.path.join(out_dir, "audio_encoder.json"), "w") as f:
        json.dump(spec, f, indent=1)
        f.write("\n")


class HubertFrames(nn.Module):
    """One video frame's HuBERT features from a window of samples around it.

    HuBERT gives a 1024-d feature every 320 samples (50 per second, two per 25 fps frame); the
    originals compute them over the whole utterance. Live speech has no whole utterance, so the
    exported model reads `window_samples` samples starting `-offset_samples` before the frame,
    normalises them (zero mean, unit variance, as Wav2Vec2Processor does), and returns the two
    features of the frame: [B, 2, 1024]. A longer window is closer to the offline features and
    adds lookahead; offset_samples must be a multiple of 320 so the frame starts on a feature.
    """

    def __init__(self, hubert: nn.Module, offset_samples: int, per_frame: int = 2):
        super().__init__()
        if offset_samples > 0 or offset_samples % 320:
            raise ValueError("offset_samples must be <= 0 and a multiple of 320")
        self.hubert = hubert
        self.first = -offset_samples // 320
        self.per_frame = per_frame

    def forward(self, waveform):
        x = (waveform - waveform.mean(dim=1, keepdim=True)) / torch.sqrt(waveform.var(dim=1, keepdim=True) + 1e-7)
        hidden = self.hubert(x)
        hidden = hidden.last_hidden_state if hasattr(hidden, "last_hidden_state") else hidden
        return hidden[:, self.first:self.first + self.per_frame, :]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    u = sub.add_parser("unet", help="the UNet checkpoint -> unet.onnx")
    u.add_argument("checkpoint")
    u.add_argument("--family", choices=sorted(O.FAMILIES), required=True)
    u.add_argument("--mode", choices=["ave", "hubert", "wenet"], required=True)
    u.add_argument("--mobile", action="store_true", help="the checkpoint uses the reduced (mobile) channel setting")
    u.add_argument("--dynamic-batch", action="store_true", help="a batch axis the server may fill (default: fixed 1, as the originals)")
    u.add_argument("--out", required=True, help="folder for unet.onnx (the dataset folder, for the importer)")
    a = sub.add_parser("ave-encoder", help="SyncTalk_2D's audio_visual_encoder.pth -> audio_encoder.onnx")
    a.add_argument("checkpoint")
    a.add_argument("--out", required=True)
    h = sub.add_parser("hubert", help="a HuBERT model (transformers) -> audio_encoder.onnx (waveform)")
    h.add_argument("model", help="name or folder for transformers' HubertModel.from_pretrained")
    h.add_argument("--window-samples", type=int, default=16000, help="samples the encoder reads per frame (default: 1 s)")
    h.add_argument("--offset-samples", type=int, default=-7680, help="where the window starts, relative to the frame (default: 0.48 s before)")
    h.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)

    if args.what == "unet":
        net = O.LipSyncUNet(args.family, args.mode, O.MOBILE if args.mobile else O.FULL)
        net.load_state_dict(load_state(args.checkpoint), strict=True)
        export_unet(net, os.path.join(args.out, "unet.onnx"), args.dynamic_batch)
    elif args.what == "ave-encoder":
        net = O.AveEncoder()
        state = load_state(args.checkpoint)
        # The released file stores the Sequential's keys without its name.
        if not any(k.startswith("audio_encoder.") for k in state):
            state = {f"audio_encoder.{k}": v for k, v in state.items()}
        net.load_state_dict(state, strict=True)
        export_ave_encoder(net, args.out)
    else:
        try:
            from transformers import HubertModel
        except ImportError:
            raise SystemExit("the hubert export needs the transformers package (pip install transformers)")
        hubert = HubertModel.from_pretrained(args.model)
        export_waveform_encoder(HubertFrames(hubert, args.offset_samples), args.out, args.window_samples, args.offset_samples, (2, 1024))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
