"""A user's avatar package (from `lipsync avatar build`) as training material.

The builder places every face where the demo face sits (same mouth position and scale, see
packages/server/src/avatar/build/geometry.ts) and records the head pose of every idle frame in
footage/footage.json, so face.py's mouth renderer draws on the user's frames unchanged. A video
package also keeps the model crop of every frame of the video (footage/crops.u8) and its audio.
"""
import json
import os

import numpy as np
from PIL import Image

from . import face
from .constants import SAMPLES_PER_FRAME


class UserPackage:
    def __init__(self, pkg_dir: str):
        self.dir = pkg_dir
        with open(os.path.join(pkg_dir, "manifest.json")) as f:
            self.manifest = json.load(f)
        footage_rel = (self.manifest.get("training") or {}).get("footage", "footage/footage.json")
        path = os.path.join(pkg_dir, footage_rel)
        if not os.path.exists(path):
            raise ValueError(f"{pkg_dir} has no {footage_rel}: only packages made by `lipsync avatar build` can be trained")
        with open(path) as f:
            self.footage = json.load(f)
        self.footage_dir = os.path.dirname(path)
        self.kind = self.footage["kind"]
        self.poses = [face.Pose(a, dx, dy, b) for a, dx, dy, b in self.footage["frame_poses"]]
        self.boxes = [tuple(b) for b in self.manifest["crop_boxes"]]
        if len(self.poses) != len(self.boxes):
            raise ValueError("footage.json and manifest.json disagree on the number of frames")
        for p, (x, y, w, h) in zip(self.poses, self.boxes):
            if face.crop_origin(p) != (x, y) or w != face.CROP_SIZE or h != face.CROP_SIZE:
                raise ValueError("the recorded head poses do not match the crop boxes")

    def frame_file(self, k: int) -> str:
        return os.path.join(self.dir, self.manifest["frames"].replace("{index:04d}", f"{k:04d}"))

    def idle_frames(self):
        """The package frames as float32 [H, W, 3] in [0, 1], as the server decodes them."""
        return [np.asarray(Image.open(self.frame_file(k)).convert("RGB"), dtype=np.float32) / 255.0
                for k in range(len(self.boxes))]

    def idle_crops(self, frames=None) -> np.ndarray:
        frames = frames if frames is not None else self.idle_frames()
        return np.stack([np.round(face.crop(f, p) * 255).astype(np.uint8) for f, p in zip(frames, self.poses)])

    def video_crops(self):
        """(crops [N, 128, 128, 3] uint8, speech flags [N]) of every video frame kept, or None."""
        if self.kind != "video":
            return None
        spec = self.footage["crops"]
        crops = np.fromfile(os.path.join(self.footage_dir, spec["file"]), dtype=np.uint8).reshape(spec["shape"])
        speech = np.array([c == "1" for c in self.footage["speech"][:len(crops)]])
        return crops, speech

    def audio(self):
        """The video's own audio (16 kHz float), or None."""
        rel = self.footage.get("audio")
        if self.kind != "video" or not rel:
            return None
        from . import speech as speechmod
        samples, rate = speechmod.read_wav(os.path.normpath(os.path.join(self.footage_dir, rel)))
        assert rate == 16000
        need = len(self.video_crops()[0]) * SAMPLES_PER_FRAME
        return np.pad(samples, (0, max(0, need - len(samples))))


def render_targets(params: np.ndarray, idle_index: np.ndarray, frames, poses, progress=None) -> np.ndarray:
    """Every synthetic frame's mouth rendered on its idle frame of the user's face, cropped."""
    targets = np.empty((len(params), face.CROP_SIZE, face.CROP_SIZE, 3), dtype=np.uint8)
    for i, (p, k) in enumerate(zip(params, idle_index)):
        out = face.render_mouth(frames[k], poses[k], p)
        targets[i] = np.round(face.crop(out, poses[k]) * 255).astype(np.uint8)
        if progress and i % 500 == 0:
            progress(i)
    return targets
