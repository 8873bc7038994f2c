"""SpeechAligner: which audio leaves with which frame, and what a barge-in drops (no server)."""
from pipecat_lipsync.alignment import SpeechAligner

SPF = 640


def pcm(samples: int, value: int = 0) -> bytes:
    return bytes([value & 0xFF, 0]) * samples


def test_each_frame_carries_its_slice_at_the_input_rate_and_the_tail_goes_with_the_last():
    a = SpeechAligner(24000, SPF)  # 960 input samples per 40 ms frame
    audio = b"".join(pcm(960, i) for i in range(3)) + pcm(100, 9)
    assert a.push_audio(audio) is True
    assert a.end() is True
    a.speech_started(6400)
    out = [a.speech_frame(6400 + k * SPF) for k in range(4)]
    assert [len(x) for x in out] == [1920, 1920, 1920, 200]
    assert out[1] == pcm(960, 1) and out[3] == pcm(100, 9)
    assert b"".join(out) == audio
    utterance, rest = a.speech_ended(interrupted=False)
    assert utterance is not None and rest == b"" and not a.pending


def test_audio_no_frame_carried_goes_out_with_speech_ended():
    a = SpeechAligner(16000, SPF)
    a.push_audio(pcm(1000))
    a.end()
    a.speech_started(0)
    assert len(a.speech_frame(0)) == 1280
    _, rest = a.speech_ended(interrupted=False)
    assert len(rest) == 2 * (1000 - 640)


def test_frames_after_a_clear_are_dropped_until_the_interrupted_speech_ended():
    a = SpeechAligner(16000, SPF)
    a.push_audio(pcm(6400))
    a.speech_started(0)
    assert a.speech_frame(0)
    assert a.clear() is True
    assert a.speech_frame(SPF) is None, "a frame of cut speech still on the wire must not be shown"
    a.push_audio(pcm(1280, 7))  # the next utterance, sent after the clear
    assert a.speech_ended(interrupted=True) == (None, b"")
    a.speech_started(3200)
    assert a.speech_frame(3200) == pcm(640, 7)


def test_a_clear_that_races_a_natural_end_waits_for_that_end_only():
    a = SpeechAligner(16000, SPF)
    a.push_audio(pcm(640))
    a.end()
    a.speech_started(0)
    assert a.clear() is True
    # The server had already finished it: no interrupted answer will come.
    assert a.speech_ended(interrupted=False) == (None, b"")
    assert not a.dropping and not a.pending
    a.push_audio(pcm(640, 3))
    a.speech_started(1280)
    assert a.speech_frame(1280) == pcm(640, 3)


def test_a_clear_with_nothing_sent_is_not_sent():
    a = SpeechAligner(16000, SPF)
    assert a.clear() is False
    assert a.end() is False


def test_dropped_frames_still_play_their_audio():
    a = SpeechAligner(16000, SPF)
    a.push_audio(pcm(640 * 4))
    a.speech_started(0)
    assert a.speech_frame(0)
    slices = a.frames_dropped(SPF, 3 * SPF)
    assert [len(s) for s in slices] == [1280, 1280]
    assert len(a.speech_frame(3 * SPF)) == 1280
