"""Augmentation keeps speech where it was and at a sane level."""
import unittest

import numpy as np

from training import augment


class AugmentTest(unittest.TestCase):
    def setUp(self):
        self.rng = np.random.default_rng(0)
        t = np.arange(16000) / 16000
        self.x = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 3 * t) > 0)

    def test_noises_have_unit_rms(self):
        for kind in ("white", "pink", "brown", "blue", "hum"):
            self.assertAlmostEqual(augment.rms(augment.coloured_noise(kind, 8000, self.rng)), 1.0, places=3)
        self.assertAlmostEqual(augment.rms(augment.babble([self.x], 8000, self.rng)), 1.0, places=3)

    def test_align_undoes_a_codec_delay(self):
        delayed = np.concatenate([np.zeros(517), self.x])
        self.assertTrue(np.allclose(augment.align(self.x, delayed), self.x))

    def test_a_chain_keeps_length_and_the_speech_in_place(self):
        for _ in range(8):
            chain = augment.random_chain(self.rng)
            chain.pop("codec", None)         # codecs need ffmpeg and sox: covered by align above
            y = augment.apply_chain(self.x, chain, (0, 16000), [(0.0, 0.3)], [self.x], self.rng)
            self.assertEqual(len(y), len(self.x))
            self.assertLessEqual(np.max(np.abs(y)), 1.0)
            loud = np.abs(self.x) > 0
            self.assertGreater(augment.rms(y[loud]), augment.rms(y[~loud]))

    def test_noise_only_stretches_have_no_speech_level(self):
        for _ in range(10):
            y = augment.noise_only(8000, [self.x], self.rng)
            self.assertEqual(len(y), 8000)
            self.assertLess(augment.rms(y), 0.35)


if __name__ == "__main__":
    unittest.main()
