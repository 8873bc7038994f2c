"""The real-speech measure: levels, envelope, speech and silence frames, lagged correlation."""
import unittest

import numpy as np

from training import realspeech


def tone(seconds, amplitude, rate=16000):
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * np.sin(2 * np.pi * 300 * t)).astype(np.float32)


class MeasureTest(unittest.TestCase):
    def setUp(self):
        # 0.4 s quiet, 0.4 s loud, 0.8 s quiet: frames 0-9, 10-19, 20-39.
        self.x = np.concatenate([tone(0.4, 0.0005), tone(0.4, 0.5), tone(0.8, 0.0005)])

    def test_one_level_per_video_frame_in_db(self):
        e = realspeech.levels(self.x)
        self.assertEqual(len(e), 40)
        # 0.5 sin: variance 0.125 -> -9.03 dB in the middle of the loud stretch.
        self.assertAlmostEqual(e[15], 10 * np.log10(0.125), places=2)
        self.assertEqual(len(realspeech.levels(np.zeros(641, np.float32))), 2)

    def test_envelope_is_relative_amplitude(self):
        env = realspeech.envelope(realspeech.levels(self.x))
        self.assertAlmostEqual(env.max(), 1.0)
        self.assertLess(env[0], 0.01)

    def test_silence_keeps_its_distance_from_speech(self):
        e = realspeech.levels(self.x)
        speech, silence = realspeech.speech_mask(e), realspeech.silence_mask(e)
        self.assertTrue(speech[10:20].all())
        self.assertFalse(speech[:9].any())
        self.assertFalse(silence[5:25].any())          # within 4 frames of speech (and smoothing)
        self.assertTrue(silence[:5].all() and silence[25:].all())

    def test_lagged_r_pairs_frames_inside_each_clip(self):
        a = np.sin(np.arange(50) / 3.0)
        shifted = np.concatenate([[0.0], a[:-1]])      # the mouth one frame late
        self.assertGreater(realspeech.lagged_r([a], [shifted], 1), 0.99)
        self.assertLess(realspeech.lagged_r([a], [shifted], 0), 0.99)

    def test_source_figures_report_the_best_of_lags_minus_one_to_one(self):
        e = realspeech.levels(self.x)
        env = realspeech.envelope(e)
        fig = realspeech.source_figures([(self.x, env * 100, env * 10)])
        self.assertGreater(fig["r"], 0.99)
        self.assertEqual(fig["best_lag"], 0)
        self.assertGreater(fig["motion_speech"], 5 * fig["motion_silence"])

    def test_training_refuses_evaluation_audio(self):
        with self.assertRaises(ValueError):
            realspeech.assert_not_training_source("/usr/share/sounds/alsa/Front_Left.wav")
        realspeech.assert_not_training_source("/usr/share/festival/voices/english/ked_diphone/x.wav")


if __name__ == "__main__":
    unittest.main()
