"""What real recordings do to speech, applied to the synthetic corpus: rooms, noise, microphones,
phone lines, codecs, loudness, breaths and lip noise.

Every function takes and returns 16 kHz float samples and draws its randomness from the
numpy Generator it is given, so a dataset is reproducible from its seed. Nothing here moves
speech in time (codecs are re-aligned by cross-correlation), so the phone timings and the mouth
track stay valid.
"""
import os
import subprocess
import tempfile

import numpy as np
from scipy import signal

from . import speech
from .constants import SAMPLE_RATE


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if len(x) else 0.0


# Noise --------------------------------------------------------------------------------------

def coloured_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise: white, pink (1/f), brown (1/f^2), blue (f), or mains hum with harmonics."""
    if kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        f0 = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3))
                for k in range(1, 8))
        x = x + 0.05 * rng.standard_normal(n)
        return x / (rms(x) + 1e-12)
    white = rng.standard_normal(n)
    if kind == "white":
        return white / (rms(white) + 1e-12)
    spectrum = np.fft.rfft(white)
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    spectrum *= {"pink": f ** -0.5, "brown": f ** -1.0, "blue": f ** 0.5}[kind]
    out = np.fft.irfft(spectrum, n)
    return out / (rms(out) + 1e-12)


def babble(others, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS crowd noise: 3-6 other utterances, looped and summed at random offsets."""
    out = np.zeros(n)
    for k in range(int(rng.integers(3, 7))):
        x = others[int(rng.integers(len(others)))]
        if len(x) == 0:
            continue
        reps = int(np.ceil((n + len(x)) / len(x)))
        looped = np.tile(x, reps)
        start = int(rng.integers(len(x)))
        out += looped[start:start + n] * rng.uniform(0.5, 1.0)
    return out / (rms(out) + 1e-12)


def add_noise(x: np.ndarray, speech_level: float, snr_db: float, kind: str, others,
              rng: np.random.Generator) -> np.ndarray:
    noise = babble(others, len(x), rng) if kind == "babble" else coloured_noise(kind, len(x), rng)
    return x + noise * speech_level * 10 ** (-snr_db / 20)


# Rooms and microphones ----------------------------------------------------------------------

def room_impulse(rng: np.random.Generator) -> np.ndarray:
    """A synthetic room: direct sound, a few early reflections, and an exponentially decaying,
    low-passed diffuse tail (RT60 0.15-0.9 s)."""
    rt60 = rng.uniform(0.15, 0.9)
    n = int(SAMPLE_RATE * min(1.2, rt60 * 1.2))
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    # Air and walls absorb highs faster: a gentle low-pass whose cut-off varies by room.
    sos = signal.butter(2, rng.uniform(2500, 7000), fs=SAMPLE_RATE, output="sos")
    tail = signal.sosfilt(sos, tail)
    onset = int(rng.uniform(0.002, 0.01) * SAMPLE_RATE)
    tail[:onset] = 0
    h = tail / (np.sqrt(np.sum(tail ** 2)) + 1e-12) * 10 ** (-rng.uniform(-6, 12) / 20)  # DRR
    h[0] += 1.0
    for _ in range(int(rng.integers(2, 6))):
        k = int(rng.uniform(0.001, 0.02) * SAMPLE_RATE)
        h[k] += rng.uniform(-0.5, 0.5)
    return h


def reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    y = signal.fftconvolve(x, room_impulse(rng))[:len(x)]
    return y * (rms(x) / (rms(y) + 1e-12))


def band_limit(x: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """A telephone line (300-3400 Hz through 8 kHz), a laptop or headset microphone, or a
    small loudspeaker re-recorded."""
    if kind == "phone":
        sos = signal.butter(4, [rng.uniform(250, 350), rng.uniform(3200, 3500)], btype="band",
                            fs=SAMPLE_RATE, output="sos")
        y = signal.sosfiltfilt(sos, x)
        y = signal.resample_poly(signal.resample_poly(y, 1, 2), 2, 1)[:len(x)]
    elif kind == "laptop":
        sos = signal.butter(2, rng.uniform(150, 400), btype="high", fs=SAMPLE_RATE, output="sos")
        y = signal.sosfiltfilt(sos, x)
        # A resonance of the case and a roll-off above the cheap capsule's range.
        b, a = signal.iirpeak(rng.uniform(1500, 4500), rng.uniform(1.5, 4), fs=SAMPLE_RATE)
        y = y + rng.uniform(0.3, 1.0) * signal.filtfilt(b, a, y)
        sos = signal.butter(4, rng.uniform(5000, 7200), fs=SAMPLE_RATE, output="sos")
        y = signal.sosfiltfilt(sos, y)
    else:  # "speaker": a tiny loudspeaker has no bass and rings in the mids
        sos = signal.butter(3, rng.uniform(400, 800), btype="high", fs=SAMPLE_RATE, output="sos")
        y = signal.sosfiltfilt(sos, x)
        b, a = signal.iirpeak(rng.uniform(800, 2500), rng.uniform(1, 3), fs=SAMPLE_RATE)
        y = y + rng.uniform(0.3, 1.0) * signal.filtfilt(b, a, y)
    return y * (rms(x) / (rms(y) + 1e-12))


def tilt(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random spectral tilt (a darker or brighter voice or microphone), +-6 dB per octave at most."""
    b, a = signal.butter(1, rng.uniform(500, 3000), btype=rng.choice(["low", "high"]), fs=SAMPLE_RATE)
    mix = rng.uniform(0.2, 0.8)
    y = (1 - mix) * x + mix * signal.filtfilt(b, a, x) * 2
    return y * (rms(x) / (rms(y) + 1e-12))


# Codecs -------------------------------------------------------------------------------------

_CODECS = {
    # name: (file suffix, encoder command pieces); each decodes back through ffmpeg.
    "opus": (".opus", lambda r: ["ffmpeg", "-c:a", "libopus", "-b:a", f"{r.choice([6, 8, 12, 16])}k",
                                 "-application", "voip"]),
    "mp3": (".mp3", lambda r: ["ffmpeg", "-ar", str(r.choice([8000, 16000])), "-c:a", "libmp3lame",
                               "-b:a", f"{r.choice([8, 16, 24, 32])}k"]),
    "speex": (".spx", lambda r: ["ffmpeg", "-ar", "8000", "-c:a", "libspeex"]),
    "gsm": (".gsm", None),     # sox: GSM 06.10 at 8 kHz
    "amr": (".amr", None),     # sox: AMR-NB at 8 kHz
}
CODECS = list(_CODECS)


def codec(x: np.ndarray, name: str, rng: np.random.Generator) -> np.ndarray:
    """x through a lossy codec and back, re-aligned to x (codecs add delay)."""
    suffix, enc = _CODECS[name]
    with tempfile.TemporaryDirectory() as tmp:
        src, mid = os.path.join(tmp, "in.wav"), os.path.join(tmp, "mid" + suffix)
        peak = float(np.max(np.abs(x))) if len(x) else 0.0
        scale = 0.9 / peak if peak > 0.9 else 1.0
        speech.write_wav(src, x * scale, SAMPLE_RATE)
        if enc is None:
            fmt = {".gsm": "gsm", ".amr": "amr-nb"}[suffix]
            subprocess.run(["sox", "-q", src, "-r", "8000", "-c", "1", "-t", fmt, mid], check=True)
            raw = subprocess.run(["sox", "-q", "-t", fmt, mid, "-t", "raw", "-r", str(SAMPLE_RATE), "-e",
                                  "signed", "-b", "16", "-c", "1", "-"], check=True, capture_output=True).stdout
        else:
            cmd = enc(rng)
            subprocess.run([cmd[0], "-nostdin", "-v", "error", "-y", "-i", src] + cmd[1:] + [mid], check=True)
            raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", mid, "-ac", "1", "-ar",
                                  str(SAMPLE_RATE), "-f", "s16le", "-"], check=True, capture_output=True).stdout
    y = np.frombuffer(raw, dtype="<i2").astype(np.float64) / 32768.0 / scale
    return align(x, y)


def align(x: np.ndarray, y: np.ndarray, max_shift: int = 2400) -> np.ndarray:
    """y shifted (and cut or padded) so it best matches x, within +-150 ms."""
    n = len(x)
    yy = np.zeros(n + 2 * max_shift)
    m = min(len(y), n + max_shift)
    yy[max_shift:max_shift + m] = y[:m]
    corr = signal.fftconvolve(yy, x[::-1], mode="valid")      # corr[k]: yy[k:k+n] . x
    k = int(np.argmax(corr))
    return yy[k:k + n]


# Breath and lip noise -----------------------------------------------------------------------

def breath(n: int, rng: np.random.Generator) -> np.ndarray:
    """An in-breath: band-passed noise under a smooth rise and fall, unit peak RMS."""
    b = signal.sosfilt(signal.butter(2, [rng.uniform(300, 800), rng.uniform(2000, 5000)], btype="band",
                                     fs=SAMPLE_RATE, output="sos"), rng.standard_normal(n))
    env = np.sin(np.pi * np.arange(n) / n) ** rng.uniform(1, 3)
    y = b * env
    return y / (rms(y) + 1e-12) * 1.4


def click(rng: np.random.Generator) -> np.ndarray:
    """A lip smack or tongue click: a few ms of decaying, high-passed noise."""
    n = int(rng.uniform(0.003, 0.015) * SAMPLE_RATE)
    y = rng.standard_normal(n) * np.exp(-np.arange(n) / (n / 4))
    return signal.sosfilt(signal.butter(2, 1000, btype="high", fs=SAMPLE_RATE, output="sos"), y)


def pause_noises(x: np.ndarray, pauses, level: float, rng: np.random.Generator) -> np.ndarray:
    """Breaths and lip clicks in pauses [(start_s, end_s)] at -35..-12 dB below the speech level."""
    y = x.copy()
    for t0, t1 in pauses:
        a, b = int(t0 * SAMPLE_RATE), int(t1 * SAMPLE_RATE)
        if b - a < int(0.25 * SAMPLE_RATE):
            continue
        if rng.random() < 0.6:
            n = int(min(b - a - 800, rng.uniform(0.2, 0.6) * SAMPLE_RATE))
            if n > 800:
                s = a + int(rng.integers(0, b - a - n))
                y[s:s + n] += breath(n, rng) * level * 10 ** (-rng.uniform(12, 35) / 20)
        for _ in range(int(rng.integers(0, 3))):
            c = click(rng)
            s = a + int(rng.integers(0, max(1, b - a - len(c))))
            y[s:s + len(c)] += c[:len(y) - s] * level * 10 ** (-rng.uniform(6, 25) / 20)
    return y


# One augmentation chain ---------------------------------------------------------------------

NOISES = ["white", "pink", "brown", "blue", "hum", "babble"]


def random_chain(rng: np.random.Generator, clean_share: float = 0.15) -> dict:
    """The settings of one version of an utterance; about clean_share of them stay clean."""
    if rng.random() < clean_share:
        return {"gain_db": float(rng.uniform(-12, 3))}
    c = {"gain_db": float(rng.uniform(-30, 8))}
    if rng.random() < 0.4:
        c["reverb"] = True
    if rng.random() < 0.3:
        c["tilt"] = True
    if rng.random() < 0.35:
        c["band"] = str(rng.choice(["phone", "laptop", "laptop", "speaker"]))
    if rng.random() < 0.6:
        c["noise"] = str(rng.choice(NOISES))
        c["snr_db"] = float(rng.uniform(5, 30))
    if rng.random() < 0.25:
        c["codec"] = str(rng.choice(CODECS))
    if rng.random() < 0.5:
        c["pause_noises"] = True
    return c


def apply_chain(x: np.ndarray, chain: dict, speech_span, pauses, others,
                rng: np.random.Generator) -> np.ndarray:
    """x (16 kHz, speech in samples speech_span) through `chain`; PCM16 like the server sees."""
    a, b = speech_span
    level = rms(x[a:b]) + 1e-9
    y = np.asarray(x, np.float64)
    if chain.get("pause_noises"):
        y = pause_noises(y, pauses, level, rng)
    if chain.get("reverb"):
        y = reverb(y, rng)
    if chain.get("tilt"):
        y = tilt(y, rng)
    if "band" in chain:
        y = band_limit(y, chain["band"], rng)
    if "noise" in chain:
        y = add_noise(y, level, chain["snr_db"], chain["noise"], others, rng)
    if "codec" in chain:
        y = codec(y, chain["codec"], rng)
    y = y / (np.max(np.abs(y)) + 1e-9) * 0.7 * 10 ** (chain["gain_db"] / 20)
    # Loud voices clip (a shout into a laptop): soft-clip past full scale.
    y = np.tanh(y) if np.max(np.abs(y)) > 0.95 else y
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.float32) / 32768.0


def noise_only(n: int, others, rng: np.random.Generator) -> np.ndarray:
    """A stretch with no speech: silence, room tone, hum, babble far away, breaths, clicks."""
    kind = str(rng.choice(["silence", "white", "pink", "brown", "blue", "hum", "babble", "breaths"]))
    if kind == "silence":
        y = np.zeros(n) + rng.standard_normal(n) * 10 ** (-rng.uniform(70, 90) / 20)
    elif kind == "breaths":
        y = coloured_noise("pink", n, rng) * 10 ** (-rng.uniform(50, 70) / 20)
        y = pause_noises(y, [(0.0, n / SAMPLE_RATE)], 10 ** (-rng.uniform(15, 30) / 20), rng)
    else:
        y = add_noise(np.zeros(n), 1.0, 0.0, kind, others, rng) * 10 ** (-rng.uniform(10, 60) / 20)
        if kind == "babble":     # babble is other people talking: keep it in the background
            y *= 10 ** (-rng.uniform(15, 30) / 20)
    if rng.random() < 0.3:
        y = band_limit(y, "laptop", rng)
    return np.clip(np.round(y * 32768.0), -32768, 32767).astype(np.float32) / 32768.0
