"""Phonemes -> visemes -> mouth parameters over time, with coarticulation.

A mouth is four numbers: jaw (0 closed .. 1 wide open), closure (lips pressed together, for
p/b/m), width (-1 pursed .. 1 spread) and round (0 .. 1, "oo"). Each phoneme pulls the mouth
towards its target with a dominance that rises before the phoneme sounds and decays after it
(Cohen & Massaro's model): real mouths move towards the next sound early, so the parameter
curves lead the audio by tens of milliseconds, as the model must learn to.
"""
import numpy as np

ANTICIPATION_S = 0.05
CARRYOVER_S = 0.025

# (jaw, closure, width, round, dominance)
SILENCE = (0.0, 0.0, 0.0, 0.0, 0.6)
_VISEMES = {
    "bilabial": (0.0, 1.0, 0.0, 0.0, 3.0),
    "labiodental": (0.08, 0.5, 0.1, 0.0, 2.0),
    "dental": (0.22, 0.0, 0.1, 0.0, 1.2),
    "alveolar": (0.18, 0.0, 0.2, 0.0, 0.8),
    "postalveolar": (0.2, 0.0, -0.4, 0.55, 1.5),
    "velar": (0.28, 0.0, 0.0, 0.0, 0.6),
    "r": (0.22, 0.0, -0.3, 0.45, 1.0),
    "w": (0.12, 0.0, -0.8, 0.9, 2.0),
    "y": (0.15, 0.0, 0.5, 0.0, 1.0),
    "h": (0.35, 0.0, 0.0, 0.0, 0.3),
    "open": (1.0, 0.0, 0.1, 0.0, 1.0),        # father
    "open_front": (0.8, 0.0, 0.45, 0.0, 1.0),  # cat
    "mid": (0.5, 0.0, 0.1, 0.0, 0.8),         # schwa, cup
    "open_round": (0.75, 0.0, -0.4, 0.5, 1.0),  # thought
    "mid_front": (0.55, 0.0, 0.5, 0.0, 1.0),  # bed
    "close_front": (0.22, 0.0, 0.85, 0.0, 1.0),  # see
    "near_close": (0.32, 0.0, 0.5, 0.0, 0.9),  # sit
    "mid_round": (0.55, 0.0, -0.5, 0.7, 1.0),  # go
    "close_round": (0.2, 0.0, -0.8, 1.0, 1.2),  # blue
    "near_close_round": (0.32, 0.0, -0.4, 0.6, 1.0),  # book
    "rhotic": (0.38, 0.0, -0.2, 0.35, 0.9),   # bird
}

# flite speaks CMU arpabet (lower case); diphthongs take their first target, and the
# coarticulation blends them into the next sound.
_ARPABET = {
    "pau": None, "p": "bilabial", "b": "bilabial", "m": "bilabial", "f": "labiodental",
    "v": "labiodental", "th": "dental", "dh": "dental", "t": "alveolar", "d": "alveolar",
    "n": "alveolar", "l": "alveolar", "s": "alveolar", "z": "alveolar", "sh": "postalveolar",
    "zh": "postalveolar", "ch": "postalveolar", "jh": "postalveolar", "k": "velar", "g": "velar",
    "ng": "velar", "r": "r", "w": "w", "y": "y", "hh": "h", "aa": "open", "ae": "open_front",
    "ah": "mid", "ax": "mid", "ao": "open_round", "aw": "open", "ay": "open", "eh": "mid_front",
    "er": "rhotic", "ey": "mid_front", "ih": "near_close", "iy": "close_front",
    "ow": "mid_round", "oy": "open_round", "uh": "near_close_round", "uw": "close_round",
}

# espeak-ng's English phoneme mnemonics.
_ESPEAK = {
    "_": None, "_:": None, "_!": None, "||": None, "p": "bilabial", "b": "bilabial", "m": "bilabial",
    "f": "labiodental", "v": "labiodental", "T": "dental", "D": "dental", "t": "alveolar",
    "t#": "alveolar", "d": "alveolar", "n": "alveolar", "l": "alveolar", "s": "alveolar",
    "z": "alveolar", "S": "postalveolar", "Z": "postalveolar", "tS": "postalveolar",
    "dZ": "postalveolar", "k": "velar", "g": "velar", "N": "velar", "r": "r", "r-": "r", "w": "w",
    "j": "y", "h": "h", "A:": "open", "A@": "open", "a": "open_front", "aa": "open_front",
    "a#": "mid", "@": "mid", "V": "mid", "@L": "alveolar", "@2": "mid", "@5": "mid", "0": "open_round",
    "O:": "open_round", "O@": "open_round", "aI": "open", "aU": "open", "aI@": "open",
    "aU@": "open", "E": "mid_front", "e@": "mid_front", "eI": "mid_front", "3:": "rhotic",
    "3": "rhotic", "I": "near_close", "I2": "near_close", "I#": "near_close", "i": "close_front",
    "i:": "close_front", "i@": "close_front", "i@3": "close_front", "oU": "mid_round",
    "OI": "open_round", "O": "open_round", "U": "near_close_round", "U@": "near_close_round",
    "u:": "close_round", "u": "close_round", "n-": "alveolar", "m-": "bilabial", "l/": "alveolar",
    "?": None, "o@": "open_round", "O2": "open_round", "t2": "alveolar", "t[": "alveolar",
    "aI2": "open", "@-": "mid", "w#": "w",
}

# IPA, as espeak-ng reports phonemes of every language with espeakINITIALIZE_PHONEME_IPA. A
# symbol is looked up after dropping stress, length, nasalisation and other diacritics; a
# diphthong or affricate takes its first sound (coarticulation blends it into the next).
_IPA = {}
for _names, _viseme in (
        ("pbmɓʙ", "bilabial"), ("fvʋɱɸβ", "labiodental"), ("θð", "dental"),
        ("tdnszlɾrɹɬɭɳɖʈɽʦʣɲʎ", "alveolar"), ("ʃʒɕʑʂʐ", "postalveolar"),
        ("kgɡŋxɣqɢχʁʀcɟçɰ", "velar"), ("wɥ", "w"), ("j", "y"), ("hɦʔ", "h"),
        ("aɑä", "open"), ("æ", "open_front"), ("əɐɜɘʌ3", "mid"), ("ɔɒ", "open_round"),
        ("eɛ", "mid_front"), ("i", "close_front"), ("ɪɨɯ", "near_close"),
        ("oøœɤɵ", "mid_round"), ("uyʉ", "close_round"), ("ʊʏ", "near_close_round"),
        ("ɚɝ", "rhotic")):
    for _c in _names:
        _IPA[_c] = _viseme
# Affricates start with a stop at the same place, but the lips of tS / dZ round like S.
_IPA_PREFIX = {"tʃ": "postalveolar", "dʒ": "postalveolar", "ts": "alveolar", "dz": "alveolar"}

# Festival's non-English voices name phones in SAMPA-like sets; stress digits and length marks
# are dropped before the lookup. Shared symbols first, then what each voice means otherwise.
_SAMPA = {
    "#": None, "pau": None, "_": None, "p": "bilabial", "b": "bilabial", "m": "bilabial",
    "f": "labiodental", "v": "labiodental", "T": "dental", "D": "dental", "t": "alveolar",
    "d": "alveolar", "n": "alveolar", "s": "alveolar", "z": "alveolar", "l": "alveolar",
    "r": "alveolar", "rr": "alveolar", "L": "alveolar", "J": "alveolar", "ts": "alveolar",
    "dz": "alveolar", "S": "postalveolar", "Z": "postalveolar", "tS": "postalveolar",
    "dZ": "postalveolar", "k": "velar", "g": "velar", "N": "velar", "x": "velar", "j": "y",
    "w": "w", "h": "h", "a": "open", "ax": "mid", "@": "mid", "e": "mid_front",
    "E": "mid_front", "i": "close_front", "I": "near_close", "o": "mid_round",
    "O": "open_round", "u": "close_round", "U": "near_close_round", "y": "close_round",
}
_SAMPA_VOICE = {
    # Czech (festival-czech): c = ts, ch = x, c~ s~ z~ = tS S Z, d~ t~ n~ palatal, r~ = r-hacek.
    "cs": {"c": "alveolar", "ch": "velar", "c~": "postalveolar", "s~": "postalveolar",
           "z~": "postalveolar", "d~": "alveolar", "t~": "alveolar", "n~": "alveolar",
           "n*": "alveolar", "r~": "postalveolar", "r~*": "postalveolar", "dz~": "postalveolar"},
    # Russian (msu_ru_nsh): doubled vowels are stressed, doubled consonants palatalised.
    "ru": {"c": "alveolar", "ch": "postalveolar", "sch": "postalveolar", "sh": "postalveolar",
           "zh": "postalveolar", "yy": "near_close", "ae": "mid_front", "ay": "mid",
           "ur": "near_close_round"},
    # Finnish (suopuhe): @ is the front a of "ä", 7 the rounded front vowel of "ö".
    "fi": {"@": "open_front", "7": "mid_round"},
}


def _sampa_name(phoneme: str, lang: str):
    """The viseme of a festival SAMPA-like phone of language `lang` ("?" if unknown)."""
    table = _SAMPA_VOICE.get(lang, {})
    for name in (phoneme, phoneme.rstrip("0123456789:").rstrip(":")):
        if name in table:
            return table[name]
        if name in _SAMPA:
            return _SAMPA[name]
    base = phoneme.rstrip("0123456789:")
    if len(base) == 2 and base[0] == base[1]:       # ru: aa, mm (stress, palatalisation)
        return table.get(base[0], _SAMPA.get(base[0], "?"))
    return "?"


def _ipa_name(phoneme: str):
    if not phoneme.strip():
        return None
    for prefix, name in _IPA_PREFIX.items():
        if phoneme.startswith(prefix):
            return name
    for c in phoneme:
        if c in _IPA:
            return _IPA[c]
    return "?"


# Markers espeak-ng reports as phonemes that are no sound of their own (palatalisation).
_ESPEAK_MARKERS = {";"}
# Pauses shorter than this are word joints, not rests: the mouth does not close for them.
MIN_PAUSE_S = 0.05


def target(phoneme: str, engine: str):
    """The (jaw, closure, width, round, dominance) target of one phoneme of `engine`.

    Engines: "flite" and "festival-en" (CMU arpabet), "espeak" (espeak-ng's English mnemonics),
    "ipa" (espeak-ng in IPA mode, any language), "sampa-LANG" (festival's other voices).
    """
    if phoneme is None:
        return SILENCE
    if engine == "ipa":
        name = _ipa_name(phoneme)
    elif engine.startswith("sampa-"):
        name = _sampa_name(phoneme, engine[6:])
    else:
        table = _ARPABET if engine in ("flite", "festival-en") else _ESPEAK
        name = table.get(phoneme, "?")
    if name is None:
        return SILENCE
    if name == "?":
        # Unknown symbols: a vowel-like default keeps the mouth moving plausibly.
        return _VISEMES["mid"] if phoneme[:1].lower() in "aeiou@3" else _VISEMES["alveolar"]
    return _VISEMES[name]


def trajectory(phones, engine: str, times: np.ndarray) -> np.ndarray:
    """[len(times), 4] mouth parameters at `times` (seconds) for [(phoneme, start, end)]."""
    phones = [p for p in phones if p[0] not in _ESPEAK_MARKERS and
              not (target(p[0], engine) is SILENCE and p[2] - p[1] < MIN_PAUSE_S)]
    if not phones:
        return np.zeros((len(times), 4), dtype=np.float32)
    num = np.zeros((len(times), 4))
    den = np.zeros(len(times))
    # Leading and trailing silence anchors, so the mouth rests before and after speech.
    anchors = [(None, phones[0][1] - 0.3, phones[0][1])] + list(phones) + \
        [(None, phones[-1][2], phones[-1][2] + 0.3)]
    for ph, t0, t1 in anchors:
        jaw, closure, width, rnd, dom = target(ph, engine)
        centre = 0.5 * (t0 + t1)
        half = 0.5 * (t1 - t0)
        # Anticipation: the dominance reaches further before the phoneme than after it. Kept
        # within the model's audio lookahead (about 90 ms past the frame centre), so the mouth
        # never has to move for a sound the model cannot hear yet.
        before = half + ANTICIPATION_S
        after = half + CARRYOVER_S
        dt = times - centre
        sigma = np.where(dt < 0, before, after)
        d = dom * np.exp(-(dt / sigma) ** 2)
        num += d[:, None] * np.array([jaw, closure, width, rnd])[None, :]
        den += d
    params = num / np.maximum(den, 1e-6)[:, None]
    return params.astype(np.float32)


def frame_times(n_frames: int, fps: int) -> np.ndarray:
    """Centre time (s) of each video frame: frame j shows samples [640 j, 640 (j + 1))."""
    return (np.arange(n_frames) + 0.5) / fps
