"""Build the training set: speech, its mouth-parameter track, and the rendered mouth crops.

Run: python3 training/dataset.py   (writes training/work/dataset.npz; part of make_demo.py)
"""
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus  # noqa: E402
import face  # noqa: E402
import mel as melmod  # noqa: E402
import speech  # noqa: E402
import visemes  # noqa: E402
from constants import FPS, SAMPLE_RATE, SAMPLES_PER_FRAME  # noqa: E402

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")
N_UTTERANCES = 540
SEED = 1234


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spectrum = np.fft.rfft(white)
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    spectrum /= np.sqrt(f) if kind == "pink" else f
    out = np.fft.irfft(spectrum, n)
    return out / (np.std(out) + 1e-12)


def synthesize(engine, voice, text, settings, espeak: speech.Espeak, rng: np.random.Generator):
    """16 kHz float audio and [(phoneme, start_s, end_s)] on the output's own time axis."""
    if engine == "espeak":
        x, rate, phones = espeak.synth(text, voice, settings["rate"], settings["pitch"],
                                       settings["range"])
        tempo = 1.0
    else:
        x, rate, phones = speech.flite_synth(text, voice)
        tempo = settings["tempo"]
    y = speech.sox_process(x, rate, SAMPLE_RATE, settings["pitch_cents"], tempo)
    phones = [(p, t0 / tempo, t1 / tempo) for p, t0, t1 in phones]
    lead = int(settings["lead_s"] * SAMPLE_RATE)
    tail = int(settings["tail_s"] * SAMPLE_RATE)
    y = np.concatenate([np.zeros(lead), y, np.zeros(tail)])
    phones = [(p, t0 + lead / SAMPLE_RATE, t1 + lead / SAMPLE_RATE) for p, t0, t1 in phones]
    peak = np.max(np.abs(y)) + 1e-9
    y = y / peak * 0.7 * 10 ** (settings["gain_db"] / 20)
    if settings["noise"] != "none":
        speech_rms = np.sqrt(np.mean(y[lead:len(y) - tail] ** 2)) + 1e-9
        y = y + _noise(settings["noise"], len(y), rng) * speech_rms * 10 ** (-settings["snr_db"] / 20)
    y = np.clip(y, -1.0, 1.0)
    # What the server sees: PCM16.
    y = np.clip(np.round(y * 32768.0), -32768, 32767) / 32768.0
    return y.astype(np.float32), phones


def utterance_tracks(samples: np.ndarray, phones, engine: str):
    n_frames = math.ceil(len(samples) / SAMPLES_PER_FRAME)
    params = visemes.trajectory(phones, engine, visemes.frame_times(n_frames, FPS))
    windows = melmod.frame_windows(melmod.mel_spectrogram(samples), n_frames)
    return params, windows


def ping_pong(start: int, n: int, count: int) -> np.ndarray:
    """Idle frame indices of a ping-pong walk over count frames, starting at `start`."""
    period = 2 * (count - 1)
    pos = (start + np.arange(n)) % period
    return np.where(pos < count, pos, period - pos)


def speech_tracks(n_utterances: int, seed: int):
    """Stage 1: synthesize the corpus. Per frame: mouth params, mel window, idle frame, utterance."""
    rng = np.random.default_rng(seed)
    espeak = speech.Espeak()
    n_idle = face.N_IDLE_FRAMES
    params_all, mel_all, idle_idx_all, utt_all = [], [], [], []
    t0 = time.time()
    for u, (engine, voice, text, settings) in enumerate(corpus.training_utterances(n_utterances, seed)):
        samples, phones = synthesize(engine, voice, text, settings, espeak, rng)
        n_frames = math.ceil(len(samples) / SAMPLES_PER_FRAME)
        params_all.append(visemes.trajectory(phones, engine, visemes.frame_times(n_frames, FPS)))
        mel_all.append(melmod.mel_spectrogram(samples).astype(np.float16))
        params = params_all[-1]
        idle_idx_all.append(ping_pong(int(rng.integers(0, 2 * (n_idle - 1))), len(params), n_idle))
        utt_all.append(np.full(len(params), u))
        if u % 100 == 0:
            print(f"speech {u}/{n_utterances} {time.time() - t0:.0f}s", flush=True)
    # Mel frames are stored per utterance (a quarter of the size of per-frame windows).
    return {"params": np.concatenate(params_all), "mel": np.concatenate(mel_all),
            "mel_count": np.array([len(m) for m in mel_all]),
            "idle_index": np.concatenate(idle_idx_all), "utterance": np.concatenate(utt_all)}


def frame_windows(data) -> np.ndarray:
    """[frames, 80, 16] float16 mel windows of every dataset frame, from the per-utterance mel."""
    utt = data["utterance"]
    counts = np.bincount(utt)
    mel_ends = np.cumsum(data["mel_count"])
    out = np.empty((len(utt), melmod.N_MELS, melmod.MEL_WINDOW), dtype=np.float16)
    frame0 = 0
    for u, n in enumerate(counts):
        mel = data["mel"][mel_ends[u] - data["mel_count"][u]:mel_ends[u]].astype(np.float32)
        out[frame0:frame0 + n] = melmod.frame_windows(mel, n)
        frame0 += n
    return out


def render_targets(params: np.ndarray, idle_index: np.ndarray):
    """Stage 2: the mouth of every frame rendered on its idle frame, cropped. Also the idle crops."""
    src = face.load_source()
    poses = face.idle_poses()
    idle = [face.render_idle(src, p) for p in poses]
    idle_crops = np.stack([face.crop(f, p) for f, p in zip(idle, poses)])
    targets = np.empty((len(params), face.CROP_SIZE, face.CROP_SIZE, 3), dtype=np.uint8)
    t0 = time.time()
    for i, (p, k) in enumerate(zip(params, idle_index)):
        frame = face.render_mouth(idle[k], poses[k], p)
        targets[i] = np.round(face.crop(frame, poses[k]) * 255).astype(np.uint8)
        if i % 10000 == 0:
            print(f"render {i}/{len(params)} {time.time() - t0:.0f}s", flush=True)
    return targets, np.round(idle_crops * 255).astype(np.uint8)


def build(n_utterances: int = N_UTTERANCES, seed: int = SEED, out_path: str = None):
    out_path = out_path or os.path.join(WORK, "dataset.npz")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    t0 = time.time()
    tracks = speech_tracks(n_utterances, seed)
    targets, idle_crops = render_targets(tracks["params"], tracks["idle_index"])
    np.savez(out_path, targets=targets, idle_crops=idle_crops, **tracks)
    print(f"dataset: {len(targets)} frames from {n_utterances} utterances in {time.time() - t0:.0f}s")
    return out_path


if __name__ == "__main__":
    build()
