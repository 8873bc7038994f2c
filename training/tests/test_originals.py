"""The re-created SyncTalk_2D / Ultralight networks: checkpoint compatibility, shapes, exports."""
import hashlib
import json
import os
import tempfile
import unittest

import numpy as np
import onnx
import torch
import torch.nn as nn

from training import export_original as X
from training import originals as O

# sha256 over "name:shape" lines of the full-size state_dicts of the originals (SyncTalk_2D's
# unet_328.Model(6, mode) and utils.AudioEncoder, Ultralight-Digital-Human's unet.Model(6, mode)),
# taken once from their published code. Equal fingerprints mean a checkpoint trained with either
# project loads into these classes with strict=True.
ORIGINAL_STATE_DICTS = {
    ("synctalk_2d", "ave"): "b91d3e469185054dd5c31cea4ce0fbee07ca601508aad1935150b800f9d5974a",
    ("synctalk_2d", "hubert"): "b91d3e469185054dd5c31cea4ce0fbee07ca601508aad1935150b800f9d5974a",
    ("synctalk_2d", "wenet"): "d7d7abf4848730b086338a195b3860014c8ed297e6dc78e16f15dcd5db29521c",
    ("ultralight", "hubert"): "dbc41fbe64ca0b5d33a427820da7b5f6807e4ff0665d58178c2ce67981336a60",
    ("ultralight", "wenet"): "9148e387d4b12181cdba30f381bc17db847133d136df4b4b650ea4496581f960",
    "ave_encoder": "518ec8d9cd9bf8421a8a3dcb5e2d9c5cb7a03302166af0a85193e4e1e9a5fcfa",
}


def fingerprint(net: nn.Module) -> str:
    lines = "\n".join(f"{k}:{tuple(v.shape)}" for k, v in net.state_dict().items())
    return hashlib.sha256(lines.encode()).hexdigest()


class StateDictTest(unittest.TestCase):
    def test_full_size_state_dicts_are_the_originals(self):
        for (family, mode) in O.AUDIO:
            with self.subTest(family=family, mode=mode):
                self.assertEqual(fingerprint(O.LipSyncUNet(family, mode)), ORIGINAL_STATE_DICTS[(family, mode)])
        self.assertEqual(fingerprint(O.AveEncoder()), ORIGINAL_STATE_DICTS["ave_encoder"])

    def test_a_checkpoint_round_trips_through_the_export_loader(self):
        net = O.randomize(O.LipSyncUNet("ultralight", "hubert", O.MOBILE), 1)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "5.pth")
            torch.save({f"module.{k}": v for k, v in net.state_dict().items()}, path)   # DataParallel-style keys
            twin = O.LipSyncUNet("ultralight", "hubert", O.MOBILE)
            twin.load_state_dict(X.load_state(path), strict=True)
        x, a = O.example_inputs("ultralight", "hubert", batch=1)
        with torch.no_grad():
            self.assertTrue(torch.equal(net(x, a), twin.eval()(x, a)))


class ShapeTest(unittest.TestCase):
    def test_every_mode_maps_its_audio_window_to_a_full_size_output(self):
        for (family, mode), (dims, (first, last)) in O.AUDIO.items():
            with self.subTest(family=family, mode=mode):
                # The audio input is the window of per-frame features, reshaped.
                self.assertEqual(int(np.prod(dims)), (last - first + 1) * O.FEATURE_DIM[mode])
                net = O.randomize(O.LipSyncUNet(family, mode, O.MOBILE), 2)
                x, a = O.example_inputs(family, mode, batch=1)
                with torch.no_grad():
                    out = net(x, a)
                size = O.FAMILIES[family][0]
                self.assertEqual(tuple(out.shape), (1, 3, size, size))
                self.assertTrue(bool(((out >= 0) & (out <= 1)).all()))

    def test_the_ave_encoder_gives_512_per_mel_window(self):
        with torch.no_grad():
            self.assertEqual(tuple(O.AveEncoder().eval()(torch.zeros(3, 1, 80, 16)).shape), (3, 512))

    def test_the_swapped_twin_reads_rgb_where_the_original_reads_bgr(self):
        net = O.randomize(O.LipSyncUNet("synctalk_2d", "ave", O.MOBILE), 3, O.example_inputs("synctalk_2d", "ave"))
        twin = O.swap_channels(net)
        x, a = O.example_inputs("synctalk_2d", "ave", batch=1, seed=4)
        flip = [2, 1, 0, 5, 4, 3]
        with torch.no_grad():
            bgr = net(x, a)
            rgb = twin(x[:, flip], a)
        # Summation order differs between the two first layers: equal to well under a pixel level.
        self.assertLess(float((bgr[:, [2, 1, 0]] - rgb).abs().max()), 1e-3)
        self.assertGreater(float(bgr.std()), 0.05)   # calibrated: not saturated


class ExportTest(unittest.TestCase):
    def test_unet_export_names_and_batch_as_the_originals(self):
        net = O.randomize(O.LipSyncUNet("ultralight", "wenet", O.MOBILE), 5)
        with tempfile.TemporaryDirectory() as d:
            for dynamic in (False, True):
                path = os.path.join(d, f"unet{int(dynamic)}.onnx")
                X.export_unet(net, path, dynamic_batch=dynamic)
                model = onnx.load(path)
                inputs = {i.name: [dim.dim_param or dim.dim_value for dim in i.type.tensor_type.shape.dim] for i in model.graph.input}
                self.assertEqual(inputs["input"], ["batch" if dynamic else 1, 6, 160, 160])
                self.assertEqual(inputs["audio"], ["batch" if dynamic else 1, 128, 16, 32])
                self.assertEqual([o.name for o in model.graph.output], ["output"])

    def test_waveform_export_writes_its_window_for_the_importer(self):
        class TinyHubert(nn.Module):
            """HuBERT's framing only: a 1024-d feature per 320 samples (kernel 400)."""

            def __init__(self):
                super().__init__()
                self.conv = nn.Conv1d(1, 1024, 400, stride=320)

            def forward(self, x):
                return self.conv(x.unsqueeze(1)).transpose(1, 2)

        wrapper = X.HubertFrames(TinyHubert(), offset_samples=-3200)
        with torch.no_grad():
            out = wrapper(torch.randn(2, 8000))
        self.assertEqual(tuple(out.shape), (2, 2, 1024))
        with tempfile.TemporaryDirectory() as d:
            X.export_waveform_encoder(wrapper, d, 8000, -3200, (2, 1024))
            with open(os.path.join(d, "audio_encoder.json")) as f:
                sidecar = json.load(f)
            self.assertEqual(sidecar, {"kind": "waveform", "input": "waveform", "output": "feature", "window_samples": 8000,
                                       "offset_samples": -3200, "output_dims": [2, 1024]})
            self.assertTrue(os.path.getsize(os.path.join(d, "audio_encoder.onnx")) > 0)
        with self.assertRaises(ValueError):
            X.HubertFrames(TinyHubert(), offset_samples=-100)


if __name__ == "__main__":
    unittest.main()
