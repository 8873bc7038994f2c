"""Mel features, exactly as the server computes them (packages/server/src/audio/mel.ts).

The convention is Wav2Lip's: pre-emphasis, a centred STFT with zero padding, a Slaney mel
filterbank, dB relative to 20 dB, scaled and clipped to [-4, 4]. Everything is float64 so the
TypeScript port can match to 1e-4. Mel frames outside the signal are silence (-4).
"""
import numpy as np

from .constants import (F_MAX, F_MIN, HOP_LENGTH, MAX_ABS_VALUE, MEL_WINDOW, MIN_LEVEL_DB, N_FFT,
                       N_MELS, PREEMPHASIS, REF_LEVEL_DB, SAMPLE_RATE, WIN_LENGTH,
                       mel_window_start)

SILENCE = -MAX_ABS_VALUE


# Slaney's mel scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above.
_F_SP = 200.0 / 3
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(hz):
    hz = np.asarray(hz, dtype=np.float64)
    return np.where(hz >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(np.maximum(hz, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP,
                    hz / _F_SP)


def mel_to_hz(mel):
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (mel - _MIN_LOG_MEL)), _F_SP * mel)


def mel_filterbank() -> np.ndarray:
    """[N_MELS, N_FFT // 2 + 1] Slaney-normalised triangular filters (librosa's default)."""
    n_bins = N_FFT // 2 + 1
    fft_freqs = np.arange(n_bins, dtype=np.float64) * SAMPLE_RATE / N_FFT
    mel_pts = mel_to_hz(np.linspace(hz_to_mel(F_MIN), hz_to_mel(F_MAX), N_MELS + 2))
    fdiff = np.diff(mel_pts)
    weights = np.zeros((N_MELS, n_bins), dtype=np.float64)
    for i in range(N_MELS):
        lower = (fft_freqs - mel_pts[i]) / fdiff[i]
        upper = (mel_pts[i + 2] - fft_freqs) / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_pts[2:N_MELS + 2] - mel_pts[:N_MELS]))[:, None]
    return weights


def hann_window() -> np.ndarray:
    """Periodic Hann window (scipy's fftbins=True), as librosa uses."""
    n = np.arange(WIN_LENGTH, dtype=np.float64)
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / WIN_LENGTH)


_FILTERS = mel_filterbank()
_WINDOW = hann_window()


def mel_spectrogram(samples: np.ndarray) -> np.ndarray:
    """[n_frames, N_MELS] features of 16 kHz mono audio; n_frames = 1 + len // HOP_LENGTH."""
    x = np.asarray(samples, dtype=np.float64)
    emphasised = np.empty_like(x)
    if len(x):
        emphasised[0] = x[0]
        emphasised[1:] = x[1:] - PREEMPHASIS * x[:-1]
    pad = N_FFT // 2
    padded = np.concatenate([np.zeros(pad), emphasised, np.zeros(pad)])
    n_frames = 1 + len(x) // HOP_LENGTH
    idx = np.arange(N_FFT)[None, :] + HOP_LENGTH * np.arange(n_frames)[:, None]
    frames = padded[idx] * _WINDOW[None, :]
    magnitude = np.abs(np.fft.rfft(frames, n=N_FFT, axis=1))
    mel = magnitude @ _FILTERS.T
    db = 20.0 * np.log10(np.maximum(1e-5, mel)) - REF_LEVEL_DB
    scaled = 2 * MAX_ABS_VALUE * ((db - MIN_LEVEL_DB) / -MIN_LEVEL_DB) - MAX_ABS_VALUE
    return np.clip(scaled, -MAX_ABS_VALUE, MAX_ABS_VALUE)


def frame_windows(mel: np.ndarray, n_video_frames: int) -> np.ndarray:
    """[n_video_frames, N_MELS, MEL_WINDOW] windows; mel frames outside the signal are silence."""
    out = np.full((n_video_frames, N_MELS, MEL_WINDOW), SILENCE, dtype=np.float32)
    n_mel = mel.shape[0]
    for j in range(n_video_frames):
        start = mel_window_start(j)
        lo, hi = max(start, 0), min(start + MEL_WINDOW, n_mel)
        if hi > lo:
            out[j, :, lo - start:hi - start] = mel[lo:hi].T
    return out
