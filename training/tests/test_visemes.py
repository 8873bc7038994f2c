"""Phonemes become mouth motion with coarticulation."""
import unittest

import numpy as np

import visemes


class TrajectoryTest(unittest.TestCase):
    def test_the_mouth_opens_before_an_open_vowel_sounds(self):
        phones = [("pau", 0.0, 0.5), ("aa", 0.5, 0.7), ("pau", 0.7, 1.2)]
        t = np.array([0.40, 0.45, 0.6, 1.1])
        jaw = visemes.trajectory(phones, "flite", t)[:, 0]
        self.assertGreater(jaw[1], jaw[0])      # anticipation before 0.5 s
        self.assertGreater(jaw[2], 0.7)         # open during the vowel
        self.assertLess(jaw[3], 0.05)           # rest after it

    def test_bilabials_close_the_lips_between_vowels(self):
        phones = [("A:", 0.0, 0.2), ("m", 0.2, 0.3), ("A:", 0.3, 0.5)]
        p = visemes.trajectory(phones, "espeak", np.array([0.1, 0.25, 0.4]))
        self.assertGreater(p[1, 1], 0.6)        # closure at the m
        self.assertLess(p[1, 0], p[0, 0])       # jaw lower than in the vowels

    def test_short_word_joints_do_not_close_the_mouth(self):
        joint = [("a", 0.0, 0.2), ("_", 0.2, 0.21), ("a", 0.21, 0.4)]
        p = visemes.trajectory(joint, "espeak", np.array([0.205]))
        self.assertGreater(p[0, 0], 0.5)

    def test_silence_is_rest(self):
        p = visemes.trajectory([], "espeak", np.linspace(0, 1, 5))
        self.assertTrue(np.all(p == 0))

    def test_frame_times_are_frame_centres(self):
        self.assertEqual(list(visemes.frame_times(2, 25)), [0.02, 0.06])


if __name__ == "__main__":
    unittest.main()
