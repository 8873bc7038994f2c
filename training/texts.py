"""Words of the languages other than English that the training speech uses.

The mouth follows sounds, not meaning, so a sentence here is a random run of common words of its
language: they carry its sounds, rhythm and letter-to-sound rules through each synthesiser.
Languages are those festival or espeak-ng speak with phone timings; the real-speech evaluation
set (KLettres, Asterisk, alsa-utils) is never read.
"""
import random

WORDS = {
    "de": "guten Morgen die Mutter kocht heute eine warme Suppe mit Brot und Butter wir gehen "
          "schnell über die Brücke zum Bahnhof das Wetter ist schön aber kalt Vater liest ein "
          "Buch meine Oma wohnt im Dorf am großen See zwei blaue Vögel singen fröhlich",
    "fr": "bonjour maman prépare une bonne soupe pour toute la famille le petit chat dort sur "
          "la chaise nous allons au marché demain matin il fait beau aujourd'hui mon père boit "
          "du café où est le bateau bleu merci beaucoup pour le joli bouquet de fleurs",
    "es": "buenos días mamá hace una sopa muy rica para todos el perro come pan en la cocina "
          "mañana vamos a la playa con mis amigos el cielo está azul y el sol brilla mucho "
          "quiero comprar un libro nuevo mi abuela vive cerca del mar",
    "pt": "bom dia a mamãe faz uma sopa boa para a família o menino joga bola no parque "
          "amanhã vamos à praia com os amigos o céu está azul hoje eu gosto muito de música "
          "o pão está quente meu avô mora perto do rio",
    "it": "buongiorno mamma prepara una buona zuppa per tutta la famiglia il gatto dorme sulla "
          "sedia domani andiamo al mare con gli amici oggi il cielo è azzurro mio padre beve "
          "il caffè che bella giornata perché piove sempre",
    "nl": "goedemorgen moeder kookt vandaag een warme soep met brood wij fietsen naar de markt "
          "het weer is mooi maar koud vader leest een boek oma woont in het dorp bij de grote "
          "zee twee blauwe vogels zingen vrolijk",
    "cs": "dobrý den maminka vaří polévku pro celou rodinu malý pes běží po zahradě zítra "
          "pojedeme k moři s přáteli obloha je modrá a slunce svítí táta čte knihu babička "
          "bydlí ve vesnici u velkého rybníka",
    "pl": "dzień dobry mama gotuje dobrą zupę dla całej rodziny mały kot śpi na krześle jutro "
          "pojedziemy nad morze z przyjaciółmi niebo jest niebieskie tata czyta książkę babcia "
          "mieszka we wsi nad dużym jeziorem",
    "ru": "доброе утро мама варит вкусный суп для всей семьи маленький кот спит на стуле "
          "завтра мы поедем на море с друзьями небо голубое и солнце светит папа читает книгу "
          "бабушка живёт в деревне у большого озера",
    "fi": "hyvää huomenta äiti keittää hyvää keittoa koko perheelle pieni kissa nukkuu "
          "tuolilla huomenna menemme merelle ystävien kanssa taivas on sininen ja aurinko "
          "paistaa isä lukee kirjaa mummo asuu kylässä ison järven rannalla",
    "ca": "bon dia la mare fa una sopa molt bona per a tota la família el gat petit dorm a la "
          "cadira demà anirem a la platja amb els amics el cel és blau i fa sol el pare llegeix "
          "un llibre l'àvia viu al poble",
    "hu": "jó reggelt anya finom levest főz az egész családnak a kis macska alszik a széken "
          "holnap elmegyünk a tengerhez a barátainkkal az ég kék és süt a nap apa könyvet olvas "
          "a nagymama a faluban lakik",
    "sv": "god morgon mamma lagar en god soppa till hela familjen den lilla katten sover på "
          "stolen i morgon åker vi till havet med våra vänner himlen är blå och solen skiner "
          "pappa läser en bok mormor bor i byn vid sjön",
    "da": "god morgen mor laver en god suppe til hele familien den lille kat sover på stolen "
          "i morgen tager vi til stranden med vores venner himlen er blå og solen skinner far "
          "læser en bog mormor bor i landsbyen ved søen",
    "tr": "günaydın annem bütün aile için güzel bir çorba pişiriyor küçük kedi sandalyede "
          "uyuyor yarın arkadaşlarımızla denize gideceğiz gökyüzü mavi ve güneş parlıyor babam "
          "kitap okuyor büyükannem köyde yaşıyor",
}


def sentence(lang: str, rng: random.Random) -> str:
    """Four to eleven random words of `lang`, capitalised, with a full stop or a question mark."""
    words = WORDS[lang].split()
    n = rng.randint(4, 11)
    start = rng.randrange(len(words))
    # Mostly consecutive words (natural phrasing), sometimes shuffled ones.
    if rng.random() < 0.6:
        picked = [words[(start + i) % len(words)] for i in range(n)]
    else:
        picked = [rng.choice(words) for _ in range(n)]
    text = " ".join(picked)
    if rng.random() < 0.3:
        cut = rng.randint(1, n - 1)
        text = " ".join(picked[:cut]) + ", " + " ".join(picked[cut:])
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "?", "!"])
