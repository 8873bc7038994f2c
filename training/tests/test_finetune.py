"""finetune.py reads the shipped ONNX model back into PyTorch exactly (batch-norm folded)."""
import json
import os
import unittest

import numpy as np
import torch

from training import finetune

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEMO = os.path.join(ROOT, "models", "demo")
REFERENCE = os.path.join(ROOT, "models", "reference")


class LoadBaseTest(unittest.TestCase):
    def test_unet_from_onnx_reproduces_the_reference_output(self):
        with open(os.path.join(DEMO, "manifest.json")) as f:
            manifest = json.load(f)
        net = finetune.load_base(DEMO, manifest)
        net.train()
        finetune.freeze_norms(net)      # as during fine-tuning: batch-norm stays identity
        with open(os.path.join(REFERENCE, "index.json")) as f:
            unet = json.load(f)["unet"]

        def read(key):
            return np.fromfile(os.path.join(REFERENCE, unet[key]["file"]), "<f4").reshape(unet[key]["shape"])

        with torch.no_grad():
            out = net.unet(torch.from_numpy(read("image")), torch.from_numpy(read("audio"))).numpy()
        self.assertLess(float(np.abs(out - read("output")).max()), 1e-4)
        # The batch-norm layers are frozen, not trained.
        self.assertFalse(any(p.requires_grad for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()))


if __name__ == "__main__":
    unittest.main()
