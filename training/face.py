"""The demo face: scikit-image's astronaut.png turned into a living idle loop and a mouth renderer.

The photograph (NASA, public domain) is cropped around the head and upscaled to 512 x 512. The idle
loop sways the head and blinks; every motion is a sum of cos(n pi t) terms over the loop, whose
velocity is zero at both ends, so the server's ping-pong playback has no visible turn.

The mouth renderer warps the lower lip and chin down (jaw), pulls the lower lip up over the teeth
(closure), stretches or narrows the lips (width, round) and fills the gap with a dark cavity,
a tongue and lower teeth. Everything it changes lies inside MOUTH_BOX of the frame's crop, which
is what lets the compositor leave every other pixel exactly as the source frame has it.
"""
import numpy as np
import skimage.data
import skimage.transform

FRAME_SIZE = 512
N_IDLE_FRAMES = 125                 # 5 s at 25 fps
SOURCE_REGION = (0, 256, 96, 352)   # rows, cols of astronaut.png around the head

# Rest geometry in frame pixels (after the 2x upscale).
MOUTH_X = 256.0                     # centre of the mouth
LINE_Y = 297.0                      # lower edge of the upper teeth at the centre
LINE_SAG = 13.0                     # the line rises this much towards the corners (smile)
HALF_WIDTH = 41.0                   # corner to centre
JAW_DROP = 22.0                     # px the lower lip drops at jaw = 1
CLOSURE_LIFT = 13.0                 # px the lower lip rises at closure = 1
UPPER_LIFT = 3.0                    # px the upper lip rises at jaw = 1
ROUND_NARROW = 0.26                 # rounding narrows the mouth by this share at round = 1
JAW_HALF_WIDTH = 54.0               # the chin moves within this of the centre
CHIN_FADE = (58.0, 84.0)            # below the line, the jaw motion fades out over this band
EYES = ((214.0, 203.0), (299.0, 205.0))
PIVOT = (256.0, 430.0)              # the head turns about the neck

# The model's crop: CROP_SIZE square at (mouth_x + CROP_DX, line_y + CROP_DY), no resize.
CROP_SIZE = 128
CROP_DX, CROP_DY = -64, -36
# Inside the crop, the region the mouth may change (x0, y0, x1, y1), exclusive ends. The masked
# input blanks it and the compositor pastes only inside it (feathered at its edge).
MOUTH_BOX = (4, 6, 124, 126)
FEATHER = 4


def load_source() -> np.ndarray:
    """The upscaled head region as float32 [512, 512, 3] in [0, 1]."""
    r0, r1, c0, c1 = SOURCE_REGION
    region = skimage.data.astronaut()[r0:r1, c0:c1].astype(np.float64) / 255.0
    up = skimage.transform.resize(region, (FRAME_SIZE, FRAME_SIZE), order=3, mode="edge",
                                  anti_aliasing=False)
    return np.clip(up, 0.0, 1.0).astype(np.float32)


def bilinear(img: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Sample img [H, W, C] at float pixel coordinates (pixel centres at integers)."""
    h, w = img.shape[:2]
    xs = np.clip(xs, 0, w - 1.001)
    ys = np.clip(ys, 0, h - 1.001)
    x0 = np.floor(xs).astype(np.int64)
    y0 = np.floor(ys).astype(np.int64)
    fx = (xs - x0)[..., None]
    fy = (ys - y0)[..., None]
    a = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    b = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return a * (1 - fy) + b * fy


def smoothstep(x):
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


class Pose:
    """Head pose of one idle frame: rotation (radians) about PIVOT, then a shift."""

    def __init__(self, angle: float, dx: float, dy: float, blink: float):
        self.angle, self.dx, self.dy, self.blink = angle, dx, dy, blink

    def apply(self, x: float, y: float):
        """Where a rest-pose point of the head lands in this frame."""
        c, s = np.cos(self.angle), np.sin(self.angle)
        px, py = x - PIVOT[0], y - PIVOT[1]
        return PIVOT[0] + c * px - s * py + self.dx, PIVOT[1] + s * px + c * py + self.dy


def idle_poses(n: int = N_IDLE_FRAMES):
    poses = []
    for k in range(n):
        t = k / (n - 1)
        angle = np.deg2rad(1.1 * np.cos(np.pi * t) + 0.35 * np.cos(3 * np.pi * t))
        dx = 1.6 * np.cos(2 * np.pi * t) - 0.8 * np.cos(np.pi * t)
        dy = 0.9 * np.cos(2 * np.pi * t) + 0.4 * np.cos(5 * np.pi * t)
        blink = sum(np.exp(-((k - c) / 1.6) ** 2) for c in (33, 97))
        poses.append(Pose(angle, dx, dy, min(1.0, blink)))
    return poses


def _head_weight(xs, ys):
    """1 on the head and neck, fading to 0 over the background and suit."""
    r = np.sqrt(((xs - 256) / 175) ** 2 + ((ys - 250) / 235) ** 2)
    return 1.0 - smoothstep((r - 0.85) / 0.35)


def render_idle(src: np.ndarray, pose: Pose) -> np.ndarray:
    """One idle frame: the head moved by `pose`, eyes closed by pose.blink."""
    ys, xs = np.mgrid[0:FRAME_SIZE, 0:FRAME_SIZE].astype(np.float64)
    w = _head_weight(xs, ys)
    # Backward map: the inverse rigid motion, weighted so the background barely moves.
    c, s = np.cos(-pose.angle), np.sin(-pose.angle)
    px, py = xs - pose.dx - PIVOT[0], ys - pose.dy - PIVOT[1]
    inv_x = PIVOT[0] + c * px - s * py
    inv_y = PIVOT[1] + s * px + c * py
    sx = xs + w * (inv_x - xs)
    sy = ys + w * (inv_y - ys)
    if pose.blink > 0.01:
        for ex, ey in EYES:
            # Pull the upper lid's skin down over the eye.
            m = np.exp(-((sx - ex) / 15.0) ** 2 - ((sy - ey) / 8.0) ** 2)
            sy = sy - pose.blink * 11.0 * m
    return bilinear(src, sx, sy).astype(np.float32)


def crop_origin(pose: Pose):
    """Integer top-left corner of the model crop in this frame (follows the mouth)."""
    mx, my = pose.apply(MOUTH_X, LINE_Y)
    return int(round(mx + CROP_DX)), int(round(my + CROP_DY))


def render_mouth(frame: np.ndarray, pose: Pose, params) -> np.ndarray:
    """A copy of `frame` (an idle frame of `pose`) with the mouth in state `params`.

    params = (jaw, closure, width, round). Only the crop's MOUTH_BOX changes.
    """
    out = frame.copy()
    ox, oy = crop_origin(pose)
    bx0, by0, bx1, by1 = MOUTH_BOX
    out[oy + by0:oy + by1, ox + bx0:ox + bx1] = mouth_region(frame, pose, params)
    return out


def render_mouth_crop(frame: np.ndarray, pose: Pose, params) -> np.ndarray:
    """crop(render_mouth(frame, pose, params), pose), without copying the whole frame."""
    out = crop(frame, pose).copy()
    bx0, by0, bx1, by1 = MOUTH_BOX
    out[by0:by1, bx0:bx1] = mouth_region(frame, pose, params)
    return out


def mouth_region(frame: np.ndarray, pose: Pose, params) -> np.ndarray:
    """The crop's MOUTH_BOX of `frame` with the mouth in state `params` (float32 [h, w, 3])."""
    jaw, closure, width, rnd = (float(p) for p in params)
    ox, oy = crop_origin(pose)
    bx0, by0, bx1, by1 = MOUTH_BOX
    ys, xs = np.mgrid[oy + by0:oy + by1, ox + bx0:ox + bx1].astype(np.float64)
    cx, cy = pose.apply(MOUTH_X, LINE_Y)
    ca, sa = np.cos(pose.angle), np.sin(pose.angle)
    # Local mouth coordinates: u across, v down, origin at the centre of the line.
    u = ca * (xs - cx) + sa * (ys - cy)
    v = -sa * (xs - cx) + ca * (ys - cy)

    scale = 1.0 + 0.12 * width - ROUND_NARROW * rnd
    # Compact support keeps the stretch inside the box.
    bump = np.maximum(0.0, 1.0 - (u / 54.0) ** 2) ** 2 * np.maximum(0.0, 1.0 - ((v - 5.0) / 30.0) ** 2) ** 2
    us = u / (1.0 + (scale - 1.0) * bump)
    line = -LINE_SAG * np.minimum(1.0, (us / HALF_WIDTH) ** 2)
    power = 0.6 - 0.3 * rnd
    lens = np.maximum(0.0, 1.0 - (us / HALF_WIDTH) ** 2) ** power
    chin = np.maximum(0.0, 1.0 - (us / JAW_HALF_WIDTH) ** 2) ** 1.5
    below = v - line
    to_chin = smoothstep(below / 24.0)
    fade = 1.0 - smoothstep((v - CHIN_FADE[0]) / (CHIN_FADE[1] - CHIN_FADE[0]))
    # Closure stretches the skin over a long band so the lifted lip shows no smear.
    near = 1.0 - smoothstep(below / 48.0)
    d_low = jaw * JAW_DROP * (lens * (1 - to_chin) + chin * to_chin) * fade \
        - closure * CLOSURE_LIFT * lens * near
    d_up = jaw * UPPER_LIFT * lens * (1.0 - smoothstep(-below / 15.0))
    v_low = v - d_low
    v_up = v + d_up

    cover_low = np.clip(v_low - line + 0.5, 0.0, 1.0)
    cover_up = np.minimum(np.clip(line - v_up + 0.5, 0.0, 1.0), 1.0 - cover_low)
    cavity = np.clip(1.0 - cover_low - cover_up, 0.0, 1.0)

    def to_image(uu, vv):
        return cx + ca * uu - sa * vv, cy + sa * uu + ca * vv

    low = bilinear(frame, *to_image(us, v_low))
    up = bilinear(frame, *to_image(us, v_up))

    gap_top = line - jaw * UPPER_LIFT * lens
    gap = np.maximum(jaw * JAW_DROP * lens, 1e-3)
    f = np.clip((v - gap_top) / gap, 0.0, 1.0)
    edge = np.clip(1.0 - np.abs(us / HALF_WIDTH) ** 2, 0.0, 1.0)
    colour = np.empty(f.shape + (3,))
    colour[:] = (0.16, 0.05, 0.06)
    tongue = (0.7 * np.exp(-((f - 0.78) / 0.2) ** 2) * edge)[..., None]
    colour = colour * (1 - tongue) + np.array([0.58, 0.27, 0.29]) * tongue
    teeth = (smoothstep((f - 0.8) / 0.12) * np.clip((jaw - 0.3) * 3.0, 0.0, 1.0) * 0.75 * edge)[..., None]
    colour = colour * (1 - teeth) + np.array([0.82, 0.78, 0.74]) * teeth
    colour *= (0.55 + 0.45 * edge)[..., None]

    region = cover_low[..., None] * low + cover_up[..., None] * up + cavity[..., None] * colour
    return region.astype(np.float32)


def lip_gap(params) -> np.ndarray:
    """Ground-truth mouth opening: the lip gap at the centre, in units of a full jaw drop.

    Jaw drop opens the lips; closure lifts the lower lip back over the teeth, so what shows is
    the difference (params: [..., 4] of jaw, closure, width, round).
    """
    params = np.asarray(params)
    return np.maximum(0.0, params[..., 0] * JAW_DROP - params[..., 1] * CLOSURE_LIFT) / JAW_DROP


def crop(frame: np.ndarray, pose: Pose) -> np.ndarray:
    ox, oy = crop_origin(pose)
    return frame[oy:oy + CROP_SIZE, ox:ox + CROP_SIZE]
