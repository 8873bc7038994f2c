"""The mel front end's framing: what the TypeScript port must reproduce."""
import unittest

import numpy as np

from training import constants
from training import mel


class MelTest(unittest.TestCase):
    def test_frame_count_is_one_plus_samples_over_hop(self):
        for n in (0, 199, 200, 16000, 16001):
            self.assertEqual(mel.mel_spectrogram(np.zeros(n)).shape, (1 + n // 200, 80))

    def test_silence_is_the_floor(self):
        self.assertTrue(np.all(mel.mel_spectrogram(np.zeros(4000)) == -4.0))

    def test_a_tone_lights_its_band(self):
        t = np.arange(16000) / 16000
        m = mel.mel_spectrogram(0.5 * np.sin(2 * np.pi * 1000 * t))
        peak = m[40].argmax()
        self.assertAlmostEqual(mel.mel_to_hz(np.linspace(mel.hz_to_mel(55), mel.hz_to_mel(7600), 82)[peak + 1]), 1000, delta=120)

    def test_windows_pad_with_silence_and_respect_the_lookahead(self):
        windows = mel.frame_windows(mel.mel_spectrogram(np.ones(640) * 0.1), 1)
        self.assertTrue(np.all(windows[0, :, :8] == -4.0))   # mel frames before 0
        self.assertEqual(constants.samples_needed(0), 1800)
        self.assertLessEqual(constants.samples_needed(10), 640 * (11 + constants.LOOKAHEAD_FRAMES))


if __name__ == "__main__":
    unittest.main()
