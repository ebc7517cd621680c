"""The judges' floors on our clean material, as the README's judges table gives them (about 3 minutes on 2 CPU
cores): ``.venv/bin/python scripts/judge_floors.py`` prints them as JSON. Each judge is read against these: a real
model that no one here trained, on eSpeak speech and additive tones it never met."""
import json

import librosa
import numpy as np

import helpers as H
from helpers import judges as J

SR = 16_000
CHORDS = [["C4", "E4", "G4"], ["F3", "A3", "C4"], ["G3", "B3", "D4"], ["A3", "C4", "E4"], ["D4", "F#4", "A4"],
          ["E3", "G#3", "B3"]]


def mean_scores(scores: list[dict]) -> dict:
    return {k: float(np.mean([s[k] for s in scores])) for k in ("sig", "bak", "ovrl")}


def main() -> dict:
    digits = H.make_corpus(language="en", task="digits", n_train=1, n_test=60, seed=0).test
    commands = H.make_corpus(language="en", task="sentences", n_train=1, n_test=60, seed=0).test
    out = {f"tiny_en_wer_{name}": J.word_error_rate([u.text for u in utts], J.transcribe([u.audio for u in utts]))
           for name, utts in (("digits", digits), ("sentences", commands))}

    clips = [u.audio for u in commands[:20]]
    out["dnsmos_clean"] = mean_scores([J.dnsmos(c) for c in clips])
    noisy = [H.add_noise(c, 5, sr=SR, seed=i) for i, c in enumerate(clips)]
    out["dnsmos_white_5db"] = mean_scores([J.dnsmos(x / max(1.0, np.abs(x).max())) for x in noisy])

    errors = []  # speech onset after one second of silence
    for c in clips:
        found = J.speech_regions(np.concatenate([np.zeros(SR, np.float32), c, np.zeros(SR, np.float32)]))
        onset = 1.0 + np.argmax(np.abs(c) > 0.02) / SR
        errors.append(abs(found[0][0] - onset) if found else 1.0)
    out["vad_onset_error_s"] = float(np.mean(errors))

    voices = H.data.corpus.SPEAKERS["en"]["test"][:8]
    texts = ["open the window please", "close the door and check the heater", "three one four one five nine two six"]
    emb = {(v, t): J.speaker_embedding(H.speak(t, voice=v, sr=SR)) for v in voices for t in texts}
    same = [J.cosine(emb[v, a], emb[v, b]) for v in voices for i, a in enumerate(texts) for b in texts[i + 1:]]
    other = [J.cosine(emb[v, texts[0]], emb[w, texts[1]]) for i, v in enumerate(voices) for w in voices[i + 1:]]
    out.update(speaker_same_mean=float(np.mean(same)), speaker_other_mean=float(np.mean(other)),
               speaker_eer=J.equal_error_rate(same, other))

    hits = extra = 0
    for chord in CHORDS:
        found = {pitch for _, _, pitch, _ in J.transcribe_notes(H.chord(chord, 2.0, 22_050), 22_050)}
        wanted = {int(round(librosa.note_to_midi(n))) for n in chord}
        hits, extra = hits + len(wanted & found), extra + len(found - wanted)
    out.update(basic_pitch_note_recall=hits / sum(map(len, CHORDS)),
               basic_pitch_extra_notes_per_chord=extra / len(CHORDS))

    for snr in (0, 10):
        gains = []
        for i, c in enumerate(clips[:10]):
            noisy_clip = H.add_noise(c, snr, sr=SR, seed=i)
            gains.append(H.si_sdr_db(c, J.rnnoise(noisy_clip)) - H.si_sdr_db(c, noisy_clip))
        out[f"rnnoise_sisdr_gain_white_{snr}db"] = float(np.mean(gains))

    references = [u.text for u in commands[:20]]
    versions = {"original": clips, "hifigan": [J.vocode(J.vocoder_mel(a)) for a in clips],
                "griffin_lim": [J.vocode(J.vocoder_mel(a), "griffin-lim") for a in clips]}
    for name, audio in versions.items():
        out[f"vocoder_wer_{name}"] = J.word_error_rate(references, J.transcribe(audio))
        out[f"vocoder_dnsmos_ovrl_{name}"] = float(np.mean([J.dnsmos(np.clip(a, -1, 1))["ovrl"] for a in audio[:15]]))
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
