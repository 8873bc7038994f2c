"""Media constants shared by every training step, and the idle loop's ping-pong walk.

The server and the player have their own copies in TypeScript (they cannot import Python);
tests/test_shared_contracts.py runs those modules and checks that every value and the walk agree
with these. The manifest written by export.py also carries the mel settings to the server, whose
loader checks them.
"""
import numpy as np

SAMPLE_RATE = 16_000          # Hz, the model's audio rate
FPS = 25                      # video frames per second
SAMPLES_PER_FRAME = SAMPLE_RATE // FPS   # 640 samples = 40 ms
assert SAMPLES_PER_FRAME * FPS == SAMPLE_RATE

# Mel features: the SyncTalk_2D / Wav2Lip convention.
N_FFT = 800                   # samples (50 ms)
WIN_LENGTH = 800              # samples
HOP_LENGTH = 200              # samples (12.5 ms) -> 80 mel frames per second
N_MELS = 80
F_MIN = 55.0                  # Hz
F_MAX = 7600.0                # Hz
PREEMPHASIS = 0.97
MIN_LEVEL_DB = -100.0
REF_LEVEL_DB = 20.0
MAX_ABS_VALUE = 4.0           # features are clipped to [-4, 4]
MEL_FRAMES_PER_SECOND = SAMPLE_RATE // HOP_LENGTH   # 80
assert MEL_FRAMES_PER_SECOND * HOP_LENGTH == SAMPLE_RATE

# The audio window of one video frame j: MEL_WINDOW mel frames starting at
# floor(j * 80 / 25) + MEL_OFFSET. Mel frame m is centred on sample m * HOP_LENGTH and reads
# N_FFT / 2 samples either side, so frame j needs audio up to sample
# HOP_LENGTH * (floor(16 j / 5) + MEL_OFFSET + MEL_WINDOW - 1) + N_FFT / 2 <= 640 j + 1800,
# which lies inside video frame j + 2: the lookahead is 2 frames (80 ms past the frame's end).
MEL_WINDOW = 16
MEL_OFFSET = -8
LOOKAHEAD_FRAMES = 2

# The UNet sees the encoder features of the current frame and the AUDIO_CONTEXT - 1 before it.
AUDIO_CONTEXT = 8
AUDIO_FEATURE_DIM = 64

# Model geometry.
MODEL_SIZE = 128              # the UNet's square input and output, pixels


def mel_window_start(frame: int) -> int:
    """First mel frame of video frame `frame`'s window (may be negative: silence)."""
    return (frame * MEL_FRAMES_PER_SECOND) // FPS + MEL_OFFSET


def samples_needed(frame: int) -> int:
    """Samples of audio (from the session start) that must exist before `frame` can render."""
    last_mel = mel_window_start(frame) + MEL_WINDOW - 1
    return last_mel * HOP_LENGTH + N_FFT // 2


assert samples_needed(0) <= SAMPLES_PER_FRAME * (1 + LOOKAHEAD_FRAMES)
assert all(samples_needed(j) <= SAMPLES_PER_FRAME * (j + 1 + LOOKAHEAD_FRAMES) for j in range(1000))


def idle_index(step, count: int):
    """Idle frame shown at frame step `step` (an int or an array): the ping-pong walk
    0, 1, .., count - 1, count - 2, .., 1, 0, 1, .. that the server's session and the player use."""
    if count <= 1:
        return np.zeros_like(step)
    period = 2 * (count - 1)
    pos = np.mod(step, period)
    return np.where(pos < count, pos, period - pos)
