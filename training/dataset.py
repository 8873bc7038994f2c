"""Build the training set: speech, its mouth-parameter track, and several recorded-sounding versions
of its audio.

Run from the repository root (writes training/work/dataset.npz; part of make_demo.py):

    nice -n 19 /usr/bin/python3 -m training.dataset [UTTERANCES]

Per utterance: one mouth track (from the phone timings) and VERSIONS mel spectrograms of the same
speech through different rooms, noises, microphones and codecs (augment.py). The mouth frames
themselves are rendered during training (train.py), so adding audio costs no disk or memory for
images.
"""
import math
import os
import sys
import time

import numpy as np

from . import augment, corpus, face, mel as melmod, speech, visemes
from .constants import FPS, MEL_WINDOW, N_MELS, SAMPLE_RATE, SAMPLES_PER_FRAME, idle_index, mel_window_start

WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "work")
N_UTTERANCES = 1800
VERSIONS = 3
SEED = 1234
BABBLE_POOL = 40


def phone_table(spec) -> str:
    """Which of visemes.py's phone tables names this utterance's phones."""
    if spec["engine"] == "espeak":
        return "ipa"
    if spec["engine"] == "flite":
        return "flite"
    return speech.FESTIVAL_VOICES[spec["voice"]][1]


def _one_text(spec, text, espeak, festival_out):
    """(16 kHz samples, phones) of one sentence of an utterance."""
    if spec["engine"] == "espeak":
        x, rate, phones = espeak.synth(text, spec["voice"], spec["rate"], spec["pitch"], spec["range"])
    elif spec["engine"] == "flite":
        x, rate, phones = speech.flite_synth(text, spec["voice"])
    else:
        x, rate, phones = festival_out
    tempo = spec["tempo"]
    y = speech.sox_process(x, rate, SAMPLE_RATE, spec["pitch_cents"], tempo)
    return y, [(p, t0 / tempo, t1 / tempo) for p, t0, t1 in phones]


def synthesize(spec, espeak, festival_outs=None):
    """Clean 16 kHz audio of an utterance spec, its phones, the span of speech, and its pauses.

    Sentences are joined by spec["pause_s"] of silence; leading and trailing silence pad the
    whole. Pauses (for breaths and clicks) are those gaps and the silences inside the speech.
    """
    pieces, phones, pauses = [], [], []
    t = spec["lead_s"]
    pieces.append(np.zeros(int(round(t * SAMPLE_RATE))))
    pauses.append((0.0, t))
    for k, text in enumerate(spec["texts"]):
        if k:
            gap = np.zeros(int(round(spec["pause_s"] * SAMPLE_RATE)))
            pauses.append((t, t + len(gap) / SAMPLE_RATE))
            pieces.append(gap)
            t += len(gap) / SAMPLE_RATE
        y, ph = _one_text(spec, text, espeak, festival_outs[k] if festival_outs else None)
        phones += [(p, t0 + t, t1 + t) for p, t0, t1 in ph]
        pauses += [(t0 + t, t1 + t) for p, t0, t1 in ph
                   if visemes.target(p, phone_table(spec)) is visemes.SILENCE]
        pieces.append(y)
        t += len(y) / SAMPLE_RATE
    speech_end = t
    tail = np.zeros(int(round(spec["tail_s"] * SAMPLE_RATE)))
    pauses.append((t, t + len(tail) / SAMPLE_RATE))
    pieces.append(tail)
    x = np.concatenate(pieces)
    span = (int(spec["lead_s"] * SAMPLE_RATE), int(speech_end * SAMPLE_RATE))
    return x, phones, span, pauses


def synthesize_plain(spec, espeak):
    """An utterance as a clean recording (peak at 0.7 of full scale, PCM16) and its phones."""
    fest = speech.festival_batch(spec["voice"], spec["texts"], [spec["stretch"]] * len(spec["texts"])) \
        if spec["engine"] == "festival" else None
    x, phones, span, pauses = synthesize(spec, espeak, fest)
    return augment.apply_chain(x, {"gain_db": 0.0}, span, pauses, [], None), phones


def utterance_tracks(samples: np.ndarray, phones, engine: str):
    n_frames = math.ceil(len(samples) / SAMPLES_PER_FRAME)
    params = visemes.trajectory(phones, engine, visemes.frame_times(n_frames, FPS))
    windows = melmod.frame_windows(melmod.mel_spectrogram(samples), n_frames)
    return params, windows


def ping_pong(start: int, n: int, count: int) -> np.ndarray:
    """Idle frame indices of `n` steps of the ping-pong walk over count frames from step `start`."""
    return idle_index(start + np.arange(n), count)


def _festival_outputs(specs):
    """festival's speech for every festival sentence, one process per voice: {(u, k): result}."""
    jobs = {}
    for u, spec in enumerate(specs):
        if spec["engine"] == "festival":
            for k, text in enumerate(spec["texts"]):
                jobs.setdefault(spec["voice"], []).append((u, k, text, spec["stretch"]))
    out = {}
    for voice, items in sorted(jobs.items()):
        t0 = time.time()
        for start in range(0, len(items), 100):
            chunk = items[start:start + 100]
            results = speech.festival_batch(voice, [c[2] for c in chunk], [c[3] for c in chunk])
            for (u, k, _, _), r in zip(chunk, results):
                out[(u, k)] = r
        print(f"festival {voice}: {len(items)} sentences in {time.time() - t0:.0f}s", flush=True)
    return out


def speech_tracks(n_utterances: int, seed: int, versions: int = VERSIONS, festival: bool = True):
    """Synthesize and augment the corpus.

    Returns per frame: mouth params, idle frame, utterance; per utterance: its mel frames in
    `versions` versions (mel [sum over utterances of versions * mel frames, 80], float16, the
    versions of an utterance stored one after another).
    """
    rng = np.random.default_rng(seed)
    espeak = speech.Espeak()
    specs = corpus.training_utterances(n_utterances, seed, festival)
    festival = _festival_outputs(specs)
    n_idle = face.N_IDLE_FRAMES
    params_all, mel_all, idle_idx_all, utt_all, mel_count, kinds = [], [], [], [], [], []
    babble = []
    t0 = time.time()
    for u, spec in enumerate(specs):
        if spec["engine"] == "none":
            n = int(spec["seconds"] * SAMPLE_RATE)
            pool = babble if len(babble) >= 3 else [augment.coloured_noise("pink", SAMPLE_RATE, rng)]
            outs = [augment.noise_only(n, pool, rng) for _ in range(versions)]
            params = np.zeros((math.ceil(n / SAMPLES_PER_FRAME), 4), np.float32)
        else:
            fest = [festival[(u, k)] for k in range(len(spec["texts"]))] if spec["engine"] == "festival" else None
            x, phones, span, pauses = synthesize(spec, espeak, fest)
            pool = babble if len(babble) >= 3 else [augment.coloured_noise("pink", SAMPLE_RATE, rng)]
            outs = [augment.apply_chain(x, augment.random_chain(rng), span, pauses, pool, rng)
                    for _ in range(versions)]
            params = visemes.trajectory(phones, phone_table(spec),
                                        visemes.frame_times(math.ceil(len(x) / SAMPLES_PER_FRAME), FPS))
            if len(babble) < BABBLE_POOL:
                babble.append(x[span[0]:span[1]] / (augment.rms(x[span[0]:span[1]]) + 1e-9))
        mels = [melmod.mel_spectrogram(y).astype(np.float16) for y in outs]
        mel_all += mels
        mel_count.append(len(mels[0]))
        params_all.append(params)
        idle_idx_all.append(ping_pong(int(rng.integers(0, 2 * (n_idle - 1))), len(params), n_idle))
        utt_all.append(np.full(len(params), u))
        kinds.append(spec["engine"])
        if u % 100 == 0:
            print(f"speech {u}/{n_utterances} {time.time() - t0:.0f}s", flush=True)
    return {"params": np.concatenate(params_all), "mel": np.concatenate(mel_all),
            "mel_count": np.array(mel_count), "versions": np.array(versions),
            "idle_index": np.concatenate(idle_idx_all), "utterance": np.concatenate(utt_all),
            "engine": np.array(kinds)}


def window(mel: np.ndarray, frame: int) -> np.ndarray:
    """[80, 16] mel window of video frame `frame` from one utterance's mel; silence outside."""
    out = np.full((N_MELS, MEL_WINDOW), melmod.SILENCE, dtype=np.float32)
    start = mel_window_start(frame)
    lo, hi = max(start, 0), min(start + MEL_WINDOW, len(mel))
    if hi > lo:
        out[:, lo - start:hi - start] = mel[lo:hi].T
    return out


def idle_frames():
    """The idle loop's poses, full frames (float32) and model crops (uint8)."""
    src = face.load_source()
    poses = face.idle_poses()
    frames = np.stack([face.render_idle(src, p) for p in poses])
    crops = np.stack([face.crop(f, p) for f, p in zip(frames, poses)])
    return poses, frames, np.round(crops * 255).astype(np.uint8)


def build(n_utterances: int = N_UTTERANCES, seed: int = SEED, out_path: str = None,
          versions: int = VERSIONS):
    out_path = out_path or os.path.join(WORK, "dataset.npz")
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    t0 = time.time()
    tracks = speech_tracks(n_utterances, seed, versions)
    _, _, idle_crops = idle_frames()
    tmp = out_path + ".tmp.npz"
    np.savez(tmp, idle_crops=idle_crops, **tracks)
    os.replace(tmp, out_path)
    print(f"dataset: {len(tracks['params'])} frames from {n_utterances} utterances, {versions} "
          f"versions each, in {time.time() - t0:.0f}s")
    return out_path


if __name__ == "__main__":
    build(int(sys.argv[1]) if len(sys.argv) > 1 else N_UTTERANCES)
