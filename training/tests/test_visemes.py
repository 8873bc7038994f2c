"""Phonemes become mouth motion with coarticulation."""
import unittest

import numpy as np

from training import visemes


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

    def test_ipa_of_any_language_maps_by_sound(self):
        self.assertEqual(visemes.target("m", "ipa")[1], 1.0)                 # closure
        self.assertGreater(visemes.target("uː", "ipa")[3], 0.9)              # rounded
        self.assertGreater(visemes.target("ɑ̃", "ipa")[0], 0.9)               # open, nasal
        self.assertEqual(visemes.target("tʃ", "ipa"), visemes.target("ʃ", "ipa"))
        self.assertIs(visemes.target("", "ipa"), visemes.SILENCE)

    def test_festival_phone_sets_per_language(self):
        self.assertEqual(visemes.target("mm", "sampa-ru")[1], 1.0)           # palatalised m
        self.assertGreater(visemes.target("aa", "sampa-ru")[0], 0.9)         # stressed a
        self.assertEqual(visemes.target("c~", "sampa-cs"), visemes.target("S", "sampa-cs"))
        self.assertGreater(visemes.target("@", "sampa-fi")[2], 0.3)          # Finnish a-umlaut: spread
        self.assertIs(visemes.target("#", "sampa-it"), visemes.SILENCE)
        self.assertEqual(visemes.target("E1", "sampa-it"), visemes.target("E", "sampa-ca"))

    def test_frame_times_are_frame_centres(self):
        self.assertEqual(list(visemes.frame_times(2, 25)), [0.02, 0.06])


if __name__ == "__main__":
    unittest.main()
