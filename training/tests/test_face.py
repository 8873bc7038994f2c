"""The mouth renderer changes only what the compositor may change, and opens with the jaw."""
import unittest

import numpy as np

from training import face


class MouthRendererTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.src = face.load_source()
        cls.poses = face.idle_poses()

    def test_changes_stay_inside_the_mouth_box_minus_its_feather(self):
        x0, y0, x1, y1 = face.MOUTH_BOX
        f = face.FEATHER
        for k in (0, 40, 97):
            idle = face.render_idle(self.src, self.poses[k])
            ox, oy = face.crop_origin(self.poses[k])
            for params in ((1, 0, 1, 0), (1, 0, -1, 1), (0, 1, 0, 0), (0.6, 0.4, 0.5, 0.5)):
                diff = np.abs(face.render_mouth(idle, self.poses[k], params) - idle).max(axis=2)
                ys, xs = np.nonzero(diff > 1 / 255)
                self.assertGreater(len(xs), 0)
                self.assertGreaterEqual(xs.min() - ox, x0 + f)
                self.assertLess(xs.max() - ox, x1 - f)
                self.assertGreaterEqual(ys.min() - oy, y0 + f)
                self.assertLess(ys.max() - oy, y1 - f)

    def test_a_wider_jaw_shows_more_dark_mouth(self):
        pose = self.poses[10]
        idle = face.render_idle(self.src, pose)

        def dark(img):
            c = face.crop(img, pose)
            return np.count_nonzero(c.mean(axis=2) < 0.3)

        counts = [dark(face.render_mouth(idle, pose, (j, 0, 0, 0))) for j in (0.0, 0.3, 0.6, 1.0)]
        self.assertEqual(counts, sorted(counts))
        self.assertGreater(counts[-1], counts[0] + 200)

    def test_lip_gap_is_jaw_minus_closure(self):
        self.assertAlmostEqual(float(face.lip_gap([1, 0, 0, 0])), 1.0)
        self.assertEqual(float(face.lip_gap([0.2, 1, 0, 0])), 0.0)

    def test_idle_loop_motion_is_still_at_both_ends(self):
        # Ping-pong playback turns at the ends: zero velocity there means no visible jerk.
        for a, b in ((0, 1), (-1, -2)):
            pa, pb = self.poses[a], self.poses[b]
            self.assertLess(abs(pa.dx - pb.dx) + abs(pa.dy - pb.dy), 0.05)


if __name__ == "__main__":
    unittest.main()
