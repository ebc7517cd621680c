"""The judges' floors on our clean material, as the README's judges table gives them (about 3 minutes on 2 CPU
cores): `.venv/bin/python scripts/judge_floors.py` prints them as JSON."""
import json
import time

import librosa
import numpy as np

import helpers as H
from helpers import judges as J
out = {}
t0=time.time()
digits = H.make_corpus(language="en", task="digits", n_train=1, n_test=60, seed=0).test
sents = H.make_corpus(language="en", task="sentences", n_train=1, n_test=60, seed=0).test
for name, utts in (("digits", digits), ("sentences", sents)):
    out[f"tiny_en_wer_{name}"] = J.word_error_rate([u.text for u in utts], J.transcribe([u.audio for u in utts]))
clips = [u.audio for u in sents[:20]]
d = [J.dnsmos(c) for c in clips]
out["dnsmos_clean"] = {k: float(np.mean([x[k] for x in d])) for k in ("sig","bak","ovrl")}
noisy5 = [H.add_noise(c, 5, sr=16000, seed=i) for i, c in enumerate(clips)]
dn = [J.dnsmos(x / max(1.0, np.abs(x).max())) for x in noisy5]
out["dnsmos_white_5db"] = {k: float(np.mean([x[k] for x in dn])) for k in ("sig","bak","ovrl")}
errs=[]
for c in clips:
    padded = np.concatenate([np.zeros(16000, np.float32), c, np.zeros(16000, np.float32)])
    onset = 1.0 + np.argmax(np.abs(c) > 0.02) / 16000
    r = J.speech_regions(padded)
    errs.append(abs(r[0][0] - onset) if r else 1.0)
out["vad_onset_error_s"] = float(np.mean(errs))
# speaker EER over test voices
voices = H.data.corpus.SPEAKERS["en"]["test"][:8]
texts = ["open the window please", "close the door and check the heater", "three one four one five nine two six"]
emb = {(v, t): J.speaker_embedding(H.speak(t, voice=v, sr=16000)) for v in voices for t in texts}
same = [J.cosine(emb[v, a], emb[v, b]) for v in voices for i, a in enumerate(texts) for b in texts[i+1:]]
diff = [J.cosine(emb[v, a], emb[w, b]) for i, v in enumerate(voices) for w in voices[i+1:] for a in texts[:1] for b in texts[1:2]]
out["speaker_same_mean"], out["speaker_other_mean"] = float(np.mean(same)), float(np.mean(diff))
out["speaker_eer"] = J.equal_error_rate(same, diff)
# basic pitch: chords
chords = [["C4","E4","G4"],["F3","A3","C4"],["G3","B3","D4"],["A3","C4","E4"],["D4","F#4","A4"],["E3","G#3","B3"]]
hits=tot=extra=0
for ch in chords:
    notes = J.transcribe_notes(H.chord(ch, 2.0, 22050), 22050)
    found = {p for *_, p, _ in notes}
    want = {int(round(librosa.note_to_midi(n))) for n in ch}
    hits += len(want & found); tot += len(want); extra += len(found - want)
out["basic_pitch_note_recall"] = hits/tot; out["basic_pitch_extra_notes_per_chord"] = extra/len(chords)
def sisdr(ref, est):
    a = est @ ref / (ref @ ref); s = a*ref; return float(10*np.log10(np.sum(s**2)/np.sum((est-s)**2)))
for snr in (0, 10):
    g=[]
    for i,c in enumerate(clips[:10]):
        noisy = H.add_noise(c, snr, sr=16000, seed=i); g.append(sisdr(c, J.rnnoise(noisy)) - sisdr(c, noisy))
    out[f"rnnoise_sisdr_gain_white_{snr}db"] = float(np.mean(g))
# vocoder
refs=[u.text for u in sents[:20]]; orig=[u.audio for u in sents[:20]]
hifi=[J.vocode(J.vocoder_mel(a)) for a in orig]; gl=[J.vocode(J.vocoder_mel(a), 'griffin-lim') for a in orig]
for name, cl in (("original", orig), ("hifigan", hifi), ("griffin_lim", gl)):
    out[f"vocoder_wer_{name}"] = J.word_error_rate(refs, J.transcribe(cl))
    out[f"vocoder_dnsmos_ovrl_{name}"] = float(np.mean([J.dnsmos(np.clip(c, -1, 1))["ovrl"] for c in cl[:15]]))
print(json.dumps(out, indent=1), time.time()-t0, flush=True)

