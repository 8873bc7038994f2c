"""Texts and voices of the synthetic speech corpus.

Sentences come from a small grammar over a vocabulary chosen to cover English visemes (bilabials,
rounded vowels, open vowels, fricatives). Held-out texts and voices are listed apart and never
enter training: the quality gate measures the model on them.
"""
import random

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

TRAIN_ESPEAK_VOICES = ["en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-us-nyc",
                       "en-gb-x-gbclan", "en+f2", "en-us+f3", "en-us+m3", "en+m1", "en-us+f5",
                       "en+Annie", "en-us+Alex", "en-us+klatt", "en-029+m2"]
TRAIN_FLITE_VOICES = ["slt", "awb", "rms"]
# A voice of a family used in training (espeak-ng), with an accent and variant never used.
HELD_OUT_VOICE = ("espeak", "en-gb-x-gbcwmd+f4")
# A family never used in training: flite's diphone voice (the others are clustergen voices).
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


def training_utterances(n: int, seed: int):
    """[(engine, voice, text, settings)] for n utterances, deterministic in seed."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        text = _sentence(rng)
        while text in HELD_OUT_TEXTS:
            text = _sentence(rng)
        if i % 3 == 2:
            engine, voice = "flite", rng.choice(TRAIN_FLITE_VOICES)
        else:
            engine, voice = "espeak", rng.choice(TRAIN_ESPEAK_VOICES)
        settings = {
            "rate": rng.randint(120, 220),
            "pitch": rng.randint(20, 80),
            "range": rng.randint(20, 90),
            "pitch_cents": rng.choice([0, 0, rng.randint(-300, 300)]),
            "tempo": round(rng.uniform(0.85, 1.2), 3),
            "gain_db": rng.uniform(-12.0, 4.0),
            "noise": rng.choice(["none", "none", "white", "pink", "brown"]),
            "snr_db": rng.uniform(12.0, 35.0),
            "lead_s": rng.uniform(0.08, 0.6),
            "tail_s": rng.uniform(0.1, 0.4),
        }
        out.append((engine, voice, text, settings))
    return out


def held_out_utterances():
    """The gate set (held-out voice) and the family set (held-out engine), on held-out texts."""
    plain = {"rate": 165, "pitch": 50, "range": 50, "pitch_cents": 0, "tempo": 1.0,
             "gain_db": 0.0, "noise": "none", "snr_db": 30.0, "lead_s": 0.3, "tail_s": 0.3}
    gate = [(HELD_OUT_VOICE[0], HELD_OUT_VOICE[1], t, dict(plain)) for t in HELD_OUT_TEXTS]
    family = [(HELD_OUT_FAMILY[0], HELD_OUT_FAMILY[1], t, dict(plain)) for t in HELD_OUT_TEXTS]
    return gate, family
