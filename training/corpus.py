"""Texts and voices of the synthetic speech corpus.

No recording of the real-speech evaluation set (training/realspeech.py) is ever used: every
utterance here is synthesised.

Sentences come from a small grammar over a vocabulary chosen to cover English visemes (bilabials,
rounded vowels, open vowels, fricatives). Held-out texts and voices are listed apart and never
enter training: the quality gate measures the model on them.
"""
import random

from . import texts

_SUBJECTS = ["the pilot", "my brother", "a quiet mouse", "every morning", "the old bookshop",
             "our teacher", "the big blue whale", "a purple balloon", "the mayor", "five boys",
             "the orchestra", "a tall giraffe", "the farmer", "the children", "my grandmother",
             "the robot", "a yellow taxi", "the weather", "the baker", "this puzzle"]
_VERBS = ["bought", "painted", "watched", "moved", "played with", "opened", "found", "loved",
          "forgot", "measured", "carried", "fixed", "cooked", "shared", "chose", "pushed",
          "borrowed", "remembered", "thought about", "wrapped"]
_OBJECTS = ["a bowl of soup", "the map of Europe", "two warm blankets", "the broken window",
            "a box of chocolates", "the smooth pebble", "an awful poem", "the shoe box",
            "a few apples", "the movie", "the biggest pumpkin", "a bouquet of roses",
            "the huge machine", "a mysterious envelope", "the wooden boat", "the bright moon",
            "a pair of boots", "the jazz album", "the heavy suitcase", "a cup of coffee"]
_TAILS = ["", "", "yesterday", "before lunch", "at the market", "in the rain", "with a smile",
          "very slowly", "on Tuesday", "without any help", "for the whole family", "by mistake",
          "after the show", "near the ocean", "under the bridge"]
_OPENERS = ["", "", "", "Well,", "Oh,", "Honestly,", "Look,", "You know,", "Maybe", "Wow,"]
_QUESTIONS = ["Where are you going?", "Why would anybody do that?", "How much does it cost?",
              "Can you hear me now?", "Who bought the blue umbrella?", "What time is it?",
              "Would you like some more tea?", "Is the museum open on Monday?"]
_FIXED = [
    "Please pass the bread and butter.", "Peter Piper picked a peck of pickled peppers.",
    "The quick brown fox jumps over the lazy dog.", "She sells sea shells by the sea shore.",
    "Good morning, how are you today?", "I am very happy to meet you.",
    "Thank you so much for coming.", "We will be back in about five minutes.",
    "Open the door, please.", "Mama made more muffins.", "Bob bought a big blue boat.",
    "Who knew the moon was so smooth?", "Father was far from the car.",
    "Oh no, the oboe is over there.", "Wait a minute, what was that?",
    "Yes, absolutely, let us begin.", "My favourite number is forty two.",
    "Fresh fruit is full of flavour.", "Zebras zigzag across the zoo.",
    "Hello, my name is Eileen, and I fly the shuttle.",
]

# Never used in training: the quality gate's texts.
HELD_OUT_TEXTS = [
    "The astronaut waved from the launch pad at dawn.",
    "Please remember to water the tomatoes every evening.",
    "Maybe we should paint the kitchen a warmer colour.",
    "My uncle drove all the way to Boston in one day.",
    "Honestly, that was the best pizza I have ever eaten.",
    "Bring your umbrella, it might rain later.",
    "Open wide and say ah for the doctor.",
    "Blue balloons floated above the busy park.",
]

# Voices of training. espeak-ng: English accents with variants chosen for human-like settings
# (klatt voices, named variants), whispering ones, and other languages; flite's clustergen
# voices; festival's diphone, unit-selection and HTS voices, which are cut from or trained on
# recordings of real people and sound the most natural.
TRAIN_ESPEAK_VOICES = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
                       "en-gb-x-gbclan", "en+f2", "en-us+f3", "en-us+m3", "en+m1", "en-us+f5",
                       "en+Annie", "en-us+Alex", "en-us+klatt", "en-029+m2", "en+klatt3",
                       "en-us+klatt4", "en+michel", "en-us+steph", "en+edward", "en-us+linda",
                       "en+whisper", "en-us+whisperf"]
ESPEAK_LANGUAGES = ["de", "fr", "es", "pt", "it", "nl", "cs", "pl", "ru", "fi", "ca", "hu",
                    "sv", "da", "tr"]
ESPEAK_VARIANTS = ["", "", "+m1", "+m3", "+f1", "+f3", "+f4", "+klatt", "+klatt2", "+klatt4",
                   "+whisper"]
TRAIN_FLITE_VOICES = ["slt", "awb", "rms"]
# festival voice -> language of its texts
TRAIN_FESTIVAL_VOICES = {"ked_diphone": "en", "cmu_us_slt_arctic_hts": "en", "lp_diphone": "it",
                         "pc_diphone": "it", "czech_dita": "cs", "czech_machac": "cs",
                         "czech_krb": "cs", "czech_ph": "cs", "suo_fi_lj_diphone": "fi",
                         "hy_fi_mv_diphone": "fi", "upc_ca_ona_hts": "ca",
                         "msu_ru_nsh_clunits": "ru"}
# festival: how often each language is chosen (then one of its voices, evenly).
FESTIVAL_LANGUAGES = {"en": 0.35, "it": 0.12, "cs": 0.13, "fi": 0.12, "ca": 0.1, "ru": 0.18}
# Shares of the utterances per engine (the rest is espeak-ng), and of speech-free stretches.
FESTIVAL_SHARE, FLITE_SHARE, NOISE_ONLY_SHARE = 0.45, 0.15, 0.07
# A voice of a family used in training (espeak-ng), with an accent and variant never used.
HELD_OUT_VOICE = ("espeak", "en-gb-x-gbcwmd+f4")
# A family never used in training: flite's diphone voice kal16 (the others are clustergen
# voices). Festival's kal_diphone is the same speaker's diphones, so it stays out of training too.
HELD_OUT_FAMILY = ("flite", "kal16")


def _sentence(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.1:
        return rng.choice(_QUESTIONS)
    if r < 0.22:
        return rng.choice(_FIXED)
    words = [rng.choice(_OPENERS), rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS),
             rng.choice(_TAILS)]
    text = " ".join(w for w in words if w)
    text = text[0].upper() + text[1:] + rng.choice([".", ".", "!"])
    if rng.random() < 0.2:
        text += " " + rng.choice(_QUESTIONS)
    return text


def _texts(lang: str, rng: random.Random, n: int):
    if lang == "en":
        out = []
        while len(out) < n:
            t = _sentence(rng)
            if t not in HELD_OUT_TEXTS:
                out.append(t)
        return out
    return [texts.sentence(lang, rng) for _ in range(n)]


def training_utterances(n: int, seed: int, festival: bool = True):
    """n utterance specs (dicts), deterministic in seed; without `festival`, its share goes to
    espeak-ng and flite (for machines without festival's voices).

    Each is engine, voice, language, texts (one or two sentences, spoken with a pause between)
    and synthesis settings; engine "none" is a stretch with no speech at all.
    """
    rng = random.Random(seed)
    out = []
    festival_voices = sorted(TRAIN_FESTIVAL_VOICES)
    festival_share = FESTIVAL_SHARE if festival else 0.0
    for i in range(n):
        r = rng.random()
        if r < NOISE_ONLY_SHARE:
            out.append({"engine": "none", "voice": "", "lang": "", "texts": [],
                        "seconds": round(rng.uniform(1.0, 4.0), 3)})
            continue
        if r < NOISE_ONLY_SHARE + festival_share:
            engine = "festival"
            langs = sorted(FESTIVAL_LANGUAGES)
            lang = rng.choices(langs, [FESTIVAL_LANGUAGES[x] for x in langs])[0]
            voice = rng.choice([v for v in festival_voices if TRAIN_FESTIVAL_VOICES[v] == lang])
        elif r < NOISE_ONLY_SHARE + festival_share + FLITE_SHARE:
            engine, voice, lang = "flite", rng.choice(TRAIN_FLITE_VOICES), "en"
        elif rng.random() < 0.55:
            engine, voice, lang = "espeak", rng.choice(TRAIN_ESPEAK_VOICES), "en"
        else:
            engine = "espeak"
            code = rng.choice(ESPEAK_LANGUAGES)
            voice, lang = code + rng.choice(ESPEAK_VARIANTS), code.split("-")[0]
        n_texts = 2 if rng.random() < 0.35 else 1
        out.append({
            "engine": engine, "voice": voice, "lang": lang, "texts": _texts(lang, rng, n_texts),
            "rate": rng.randint(120, 230), "pitch": rng.randint(15, 85), "range": rng.randint(15, 95),
            "stretch": round(rng.uniform(0.8, 1.3), 3),
            "pitch_cents": rng.choice([0, 0, rng.randint(-400, 400)]),
            "tempo": round(rng.uniform(0.85, 1.2), 3) if engine != "espeak" else 1.0,
            "pause_s": round(rng.uniform(0.25, 1.3), 3),
            "lead_s": round(rng.uniform(0.05, 0.8), 3), "tail_s": round(rng.uniform(0.1, 0.8), 3),
        })
    return out


def held_out_utterances():
    """The gate set (held-out voice) and the family set (held-out engine), on held-out texts."""
    plain = {"lang": "en", "rate": 165, "pitch": 50, "range": 50, "stretch": 1.0, "pitch_cents": 0,
             "tempo": 1.0, "pause_s": 0.0, "lead_s": 0.3, "tail_s": 0.3}
    gate = [dict(plain, engine=HELD_OUT_VOICE[0], voice=HELD_OUT_VOICE[1], texts=[t]) for t in HELD_OUT_TEXTS]
    family = [dict(plain, engine=HELD_OUT_FAMILY[0], voice=HELD_OUT_FAMILY[1], texts=[t]) for t in HELD_OUT_TEXTS]
    return gate, family
