"""training/quantize.py without onnxruntime: the calibration draw, the manifest's cpu_variant."""
import hashlib
import json
import os
import shutil
import tempfile
import unittest

from training import corpus, quantize


class CalibrationTest(unittest.TestCase):
    def test_the_calibration_and_error_draws_hold_no_gate_material(self):
        for n, seed in ((quantize.CALIB_UTTERANCES, quantize.CALIB_SEED), (quantize.EVAL_UTTERANCES, quantize.EVAL_SEED)):
            specs = corpus.training_utterances(n, seed, False)
            quantize.check_calibration_specs(specs)
            self.assertGreater(sum(s["engine"] != "none" for s in specs), n // 2)

    def test_a_held_out_voice_or_text_is_refused(self):
        spec = corpus.training_utterances(5, 1, False)
        speaking = [s for s in spec if s["engine"] != "none"][0]
        voice = dict(speaking, engine=corpus.HELD_OUT_VOICE[0], voice=corpus.HELD_OUT_VOICE[1])
        text = dict(speaking, texts=[corpus.HELD_OUT_TEXTS[0]])
        family = dict(speaking, engine=corpus.HELD_OUT_FAMILY[0], voice=corpus.HELD_OUT_FAMILY[1])
        for bad in (voice, text, family):
            with self.assertRaises(ValueError):
                quantize.check_calibration_specs([speaking, bad])


class ManifestTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.manifest = {"format_version": 1, "crop_boxes": [[1, 2, 128, 128], [3, 4, 128, 128]],
                         "model": {"unet": "unet.onnx", "audio_encoder": "audio_encoder.onnx"}}
        for name, body in (("unet.onnx", b"unet"), ("audio_encoder.onnx", b"enc"),
                           ("unet.int8.onnx", b"u8"), ("audio_encoder.int8.onnx", b"e8")):
            with open(os.path.join(self.dir, name), "wb") as f:
                f.write(body)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_the_variant_names_its_files_and_the_float32_hashes(self):
        entry = quantize.variant_entry(self.dir, self.manifest["model"])
        self.assertEqual(entry, {"precision": "int8", "unet": "unet.int8.onnx", "audio_encoder": "audio_encoder.int8.onnx",
                                 "source_sha256": {"unet": hashlib.sha256(b"unet").hexdigest(),
                                                   "audio_encoder": hashlib.sha256(b"enc").hexdigest()}})

    def test_write_keeps_one_crop_box_a_line_and_remove_puts_the_package_back(self):
        self.manifest["model"]["cpu_variant"] = quantize.variant_entry(self.dir, self.manifest["model"])
        quantize.write_manifest(self.dir, self.manifest)
        with open(os.path.join(self.dir, "manifest.json")) as f:
            text = f.read()
        self.assertIn("[1, 2, 128, 128]", text)
        self.assertEqual(json.loads(text), self.manifest)
        quantize.remove_variant(self.dir, json.loads(text))
        with open(os.path.join(self.dir, "manifest.json")) as f:
            self.assertNotIn("cpu_variant", json.load(f)["model"])
        self.assertEqual(sorted(os.listdir(self.dir)), ["audio_encoder.onnx", "manifest.json", "unet.onnx"])


if __name__ == "__main__":
    unittest.main()
