"""Speech with phoneme timings, from Debian's espeak-ng (libespeak-ng through ctypes), flite and
festival.

Each returns (samples at the engine's own rate, rate, [(phoneme, start_s, end_s), ...]).
"""
import ctypes
import os
import re
import subprocess
import tempfile
import wave

import numpy as np

# espeak_ng.h / speak_lib.h (1.51)
AUDIO_OUTPUT_SYNCHRONOUS = 2
ESPEAK_INITIALIZE_PHONEME_EVENTS = 0x0001
ESPEAK_INITIALIZE_PHONEME_IPA = 0x0002
EVENT_LIST_TERMINATED = 0
EVENT_PHONEME = 7
EVENT_MSG_TERMINATED = 6
POS_CHARACTER = 1
ESPEAK_CHARS_UTF8 = 1
PARAM_RATE, PARAM_VOLUME, PARAM_PITCH, PARAM_RANGE = 1, 2, 3, 4


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _EventId)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


class Espeak:
    """One libespeak-ng instance (the library is process-global, so keep one).

    Phoneme events carry IPA names (any language maps through visemes.py's IPA table).
    """

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._ready = False
        return cls._instance

    def __init__(self):
        if self._ready:
            return
        self._ready = True
        self.lib = ctypes.CDLL("libespeak-ng.so.1")
        self.lib.espeak_Initialize.restype = ctypes.c_int
        self.rate = self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, None,
                                               ESPEAK_INITIALIZE_PHONEME_EVENTS | ESPEAK_INITIALIZE_PHONEME_IPA)
        if self.rate <= 0:
            raise RuntimeError("espeak_Initialize failed")
        self._chunks = []
        self._events = []
        self._cb = _CALLBACK(self._on_synth)
        self.lib.espeak_SetSynthCallback(self._cb)
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint,
                                          ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                          ctypes.c_void_p, ctypes.c_void_p]

    def _on_synth(self, wav, n, events):
        if n > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            ev = events[i]
            if ev.type == EVENT_PHONEME:
                name = bytes(ev.id.string).split(b"\0")[0].decode("utf-8", "replace")
                self._events.append((name, ev.audio_position / 1000.0))
            i += 1
        return 0

    def synth(self, text: str, voice: str, rate: int = 175, pitch: int = 50, pitch_range: int = 50):
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"unknown espeak voice {voice}")
        self.lib.espeak_SetParameter(PARAM_RATE, rate, 0)
        self.lib.espeak_SetParameter(PARAM_PITCH, pitch, 0)
        self.lib.espeak_SetParameter(PARAM_RANGE, pitch_range, 0)
        self._chunks, self._events = [], []
        data = text.encode("utf-8") + b"\0"
        self.lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, ESPEAK_CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        samples = (np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16))
        samples = samples.astype(np.float32) / 32768.0
        duration = len(samples) / self.rate
        starts = self._events
        phones = []
        for k, (ph, t0) in enumerate(starts):
            t1 = starts[k + 1][1] if k + 1 < len(starts) else duration
            if t1 > t0:
                phones.append((ph, t0, t1))
        return samples, self.rate, _stops_include_closure(phones)


# espeak-ng reports a stop consonant where its burst sounds; the closure before it (about 45 ms
# of near silence, measured on "papa" at several rates) is booked to the previous phoneme. Lips
# close during the closure, so the stop takes it back. flite's stops already include it.
_STOPS = {"p", "b", "t", "d", "k", "g", "ɡ", "c", "ɟ", "q", "ʈ", "ɖ", "tʃ", "dʒ", "ts", "dz"}
STOP_CLOSURE_S = 0.045


def _stops_include_closure(phones):
    out = [list(p) for p in phones]
    for k in range(1, len(out)):
        if out[k][0].rstrip("ʰʲʷː") in _STOPS:
            prev = out[k - 1]
            shift = min(STOP_CLOSURE_S, 0.5 * (prev[2] - prev[1]))
            prev[2] -= shift
            out[k][1] -= shift
    return [tuple(p) for p in out]


_PSDUR = re.compile(r"([a-z]+):([0-9.]+)")


def flite_synth(text: str, voice: str):
    """flite -psdur prints each phoneme with its end time in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.wav")
        out = subprocess.run(["flite", "-voice", voice, "-psdur", "-t", text, "-o", path],
                             check=True, capture_output=True, text=True).stdout
        samples, rate = read_wav(path)
    phones, t0 = [], 0.0
    for ph, end in _PSDUR.findall(out):
        t1 = float(end)
        if t1 > t0:
            phones.append((ph, t0, t1))
        t0 = t1
    return samples, rate, phones


# What festival's voices read: the text encoding each expects, and its phone table in visemes.py.
FESTIVAL_VOICES = {
    "kal_diphone": ("iso-8859-1", "festival-en"), "ked_diphone": ("iso-8859-1", "festival-en"),
    "cmu_us_slt_arctic_hts": ("iso-8859-1", "festival-en"),
    "lp_diphone": ("iso-8859-1", "sampa-it"), "pc_diphone": ("iso-8859-1", "sampa-it"),
    "czech_dita": ("iso-8859-2", "sampa-cs"), "czech_machac": ("iso-8859-2", "sampa-cs"),
    "czech_krb": ("iso-8859-2", "sampa-cs"), "czech_ph": ("iso-8859-2", "sampa-cs"),
    "suo_fi_lj_diphone": ("iso-8859-1", "sampa-fi"), "hy_fi_mv_diphone": ("iso-8859-1", "sampa-fi"),
    "upc_ca_ona_hts": ("iso-8859-1", "sampa-ca"), "msu_ru_nsh_clunits": ("utf-8", "sampa-ru"),
}


def festival_batch(voice: str, texts, stretch=None):
    """Synthesises texts with one festival process: [(samples, rate, phones)] in order.

    `stretch` (per text, >1 slower) sets festival's Duration_Stretch: the segment times it
    reports are those of the stretched speech.
    """
    encoding, _ = FESTIVAL_VOICES[voice]
    stretch = stretch or [1.0] * len(texts)
    with tempfile.TemporaryDirectory() as tmp:
        lines = [f"(voice_{voice})"]
        for i, (text, st) in enumerate(zip(texts, stretch)):
            quoted = text.replace("\\", " ").replace('"', " ")
            lines += [f"(Parameter.set 'Duration_Stretch {st:.3f})",
                      f'(set! utt (utt.synth (Utterance Text "{quoted}")))',
                      f'(utt.save.wave utt "{tmp}/{i}.wav" \'riff)',
                      f'(format t "UTT {i}\\n")',
                      '(mapcar (lambda (s) (format t "%s %f\\n" (item.name s) (item.feat s "end"))) '
                      "(utt.relation.items utt 'Segment))"]
        script = os.path.join(tmp, "batch.scm")
        with open(script, "wb") as f:
            f.write("\n".join(lines).encode(encoding, "replace"))
        out = subprocess.run(["festival", "-b", script], check=True, capture_output=True).stdout
        segments, current = {}, None
        for line in out.decode(encoding, "replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] == "UTT":
                current = int(parts[1])
                segments[current] = []
            elif len(parts) == 2 and current is not None:
                try:
                    segments[current].append((parts[0], float(parts[1])))
                except ValueError:
                    pass
        results = []
        for i in range(len(texts)):
            samples, rate = read_wav(os.path.join(tmp, f"{i}.wav"))
            phones, t0 = [], 0.0
            for ph, end in segments.get(i, []):
                if end > t0:
                    phones.append((ph, t0, end))
                t0 = max(t0, end)
            results.append((samples, rate, phones))
    return results


def read_wav(path: str):
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit PCM")
        raw = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        ch = w.getnchannels()
        rate = w.getframerate()
    x = raw.astype(np.float32).reshape(-1, ch).mean(axis=1) / 32768.0
    return x, rate


def write_wav(path: str, samples: np.ndarray, rate: int):
    # int16 / 32768 is the convention of the server's PCM decoder; round-tripping is exact.
    pcm = np.clip(np.round(np.asarray(samples, dtype=np.float64) * 32768.0), -32768, 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def sox_process(samples: np.ndarray, rate: int, out_rate: int, pitch_cents: float = 0.0,
                tempo: float = 1.0) -> np.ndarray:
    """Resample with sox's band-limited resampler, optionally shifting pitch / tempo.

    Tempo changes stretch time: callers scale phoneme times by 1 / tempo.
    """
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "in.wav"), os.path.join(tmp, "out.wav")
        peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
        scale = 0.9 / peak if peak > 0.9 else 1.0
        write_wav(src, samples * scale, rate)
        effects = []
        if pitch_cents:
            effects += ["pitch", f"{pitch_cents:.0f}"]
        if tempo != 1.0:
            effects += ["tempo", "-s", f"{tempo:.3f}"]
        effects += ["rate", "-v", str(out_rate)]
        subprocess.run(["sox", "-q", src, "-r", str(out_rate), dst] + effects, check=True)
        out, r = read_wav(dst)
    assert r == out_rate
    return out / scale
