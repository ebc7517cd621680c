"""cosyvoice-mini's recipe (``python -m helpers zoo train cosyvoice-mini``): :class:`.model.CosyVoiceMini` trained
in four stages through the zoo's engine, each part on what the one before it learnt, as CosyVoice is built —

1. ``asr`` then ``tokenizer``: the S3 tokenizer, a CTC recogniser, first without and then with the vector quantizer
   in its middle (CTC + VQ losses; its codebook starts on the encoder's outputs);
2. ``speaker``: the x-vector speaker encoder, told to recognise the training voices;
3. ``lm``: the text-to-token language model, on the frozen tokenizer's tokens and the frozen encoder's embedding,
   ``partner_fraction`` of the time on two utterances of one voice said one after the other (what zero-shot
   synthesis asks of it: to continue a prompt's text and tokens in the prompt's voice);
4. ``flow``: the flow-matching decoder from the same tokens and embedding to the mel, with a prompt of the
   utterance's own first frames half of the time and its conditions dropped ``unconditional`` of the time.

Data: English digit strings and Mandarin strings of digits and the five words of the seed sentence
"欢迎使用FunAudioLLM进行语音合成" (:data:`ZH_WORDS`), eSpeak NG voices; the test split's voices are never heard in
training. The vocoder (the real packaged HiFi-GAN) is not trained here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ...core.engine import RecipeFields
from ...core.training import frozen
from .. import released
from ...data.corpus import DIGITS, make_corpus
from . import model as M
from .frontend import joined_ids, text_ids
from .model import SILENCE
from .tokens import FRAMES_PER_TOKEN

ZH_WORDS = DIGITS["zh"] + ("欢迎", "使用", "进行", "语音", "合成")


@dataclass(frozen=True)
class Recipe(RecipeFields):
    """A cosyvoice-mini run: ``n_train`` utterances per language (``n_test`` held out), five stages of AdamW steps
    (``*_steps``) on batches of ``batch_size`` (``flow_batch`` for the flow) at ``learning_rate`` (warm-up
    ``warmup`` of each stage, cosine decay); the flow learns on crops of at most ``crop_frames`` mel frames, with a
    prompt ``prompt_fraction`` of the time and no condition ``unconditional`` of the time, its token encoding pulled
    towards the mel by a prior loss of weight ``flow_prior`` (0: none); the LM reads two utterances of one voice in
    a row ``partner_fraction`` of the time, and the flow ``flow_partner_fraction`` of the time, the first one's mel
    its prompt (as zero-shot synthesis asks of both; else the flow's prompt is the crop's own first frames)."""

    seed: int = 0
    n_train: int = 1500
    n_test: int = 40
    asr_steps: int = 600
    tokenizer_steps: int = 900
    speaker_steps: int = 600
    lm_steps: int = 3000
    flow_steps: int = 2500
    batch_size: int = 32
    flow_batch: int = 16
    learning_rate: float = 1e-3
    warmup: float = 0.05
    prompt_fraction: float = 0.5
    unconditional: float = 0.2
    crop_frames: int = 200
    flow_prior: float = 1.0
    partner_fraction: float = 0.5
    flow_partner_fraction: float = 0.4


SMOKE = dict(n_train=6, n_test=8, asr_steps=2, tokenizer_steps=2, speaker_steps=2, lm_steps=2, flow_steps=2, batch_size=4,
             flow_batch=4, crop_frames=40)
CHECK_SUBSET = dict(utterances_per_language=3)


def build_scratch(directory, seed: int = 0) -> None:
    """``model_id="scratch"`` (notebook 07): cosyvoice-mini with random weights, its named voices the corpus's
    training voices (their embeddings all zero: nothing was learnt)."""
    from ...data.corpus import SPEAKERS

    torch.manual_seed(seed)
    speakers = sorted(SPEAKERS["en"]["train"] + SPEAKERS["zh"]["train"])
    M.save(M.CosyVoiceMini(speakers=speakers, training_speakers=len(speakers), **M.MINI).eval(), directory)


def corpora(recipe: Recipe) -> dict:
    """language → its corpus (:func:`helpers.make_corpus`, 16 kHz)."""
    return {"en": make_corpus(language="en", task="digits", n_train=recipe.n_train, n_test=recipe.n_test,
                              seed=recipe.seed),
            "zh": make_corpus(language="zh", task="words", vocabulary=ZH_WORDS, n_train=recipe.n_train,
                              n_test=recipe.n_test, seed=recipe.seed)}


def prepare(utterances: list, speakers: list[str]) -> dict:
    """What training reads of each utterance, computed once: its mel, character ids, language and speaker index."""
    return {"mels": [M.mel_of(u.audio) for u in utterances], "texts": [text_ids(u.text, u.language) for u in utterances],
            "languages": [u.language for u in utterances], "speakers": [speakers.index(u.speaker) for u in utterances]}


class Utterances(torch.utils.data.Dataset):
    """Item ``i``: one ``prepared`` utterance drawn from (seed, i) — its mel, character ids, language, speaker index,
    the frames given to the flow as a prompt, whether its conditions are dropped and, ``partner_fraction`` of the
    time, a partner: another utterance of the same voice that the LM reads before it (else -1). A pure function of
    ``i``."""

    def __init__(self, prepared: dict, size: int, seed: int, prompt_fraction: float = 0.0, unconditional: float = 0.0,
                 crop_frames: int = 200, partner_fraction: float = 0.0):
        self.mels, self.texts = prepared["mels"], prepared["texts"]
        self.languages, self.speakers = prepared["languages"], prepared["speakers"]
        self.size, self.seed, self.crop_frames = size, seed, crop_frames
        self.prompt_fraction, self.unconditional = prompt_fraction, unconditional
        self.partner_fraction = partner_fraction
        self.voices = {}
        for k, s in enumerate(self.speakers):
            self.voices.setdefault(s, []).append(k)

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng([self.seed, i])
        k = int(rng.integers(len(self.mels)))
        frames = len(self.mels[k])
        start = FRAMES_PER_TOKEN * int(rng.integers(max(1, (frames - self.crop_frames) // FRAMES_PER_TOKEN + 1)))
        crop = min(self.crop_frames, frames - start)
        prompt = int(rng.uniform(0.1, 0.4) * crop) if rng.random() < self.prompt_fraction else 0
        drop = bool(rng.random() < self.unconditional)
        others = [j for j in self.voices[self.speakers[k]] if j != k]
        partner = int(rng.choice(others)) if others and rng.random() < self.partner_fraction else -1
        return {"mel": self.mels[k], "text": self.texts[k], "language": self.languages[k], "index": k,
                "speaker": self.speakers[k], "start": start, "prompt_frames": prompt, "drop": drop,
                "partner": partner, "partner_mel": self.mels[partner] if partner >= 0 else None,
                "partner_text": self.texts[partner] if partner >= 0 else None}


def pad_mels(mels: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Mels padded with silence ``(B, T, 80)`` and their frame counts."""
    return (nn.utils.rnn.pad_sequence(mels, batch_first=True, padding_value=SILENCE),
            torch.tensor([len(m) for m in mels], dtype=torch.long))


def collate(items: list[dict]) -> dict:
    """Mels padded with silence ``(B, T, 80)`` and their frame counts; the transcripts both as CTC targets
    (padded ids and lengths) and as lists for the LM; the partners' indices (-1: none), mels (one frame of silence
    for none) and character ids."""
    mel, frames = pad_mels([it["mel"] for it in items])
    nothing = torch.full((1, mel.shape[-1]), SILENCE)
    partner_mel, partner_frames = pad_mels([nothing if it["partner"] < 0 else it["partner_mel"] for it in items])
    texts = [it["text"] for it in items]
    return {"mel": mel, "frames": frames,
            "text": nn.utils.rnn.pad_sequence([torch.tensor(t) for t in texts], batch_first=True),
            "text_lengths": torch.tensor([len(t) for t in texts]), "texts": texts,
            "languages": [it["language"] for it in items], "speaker": torch.tensor([it["speaker"] for it in items]),
            "index": [it["index"] for it in items], "start": [it["start"] for it in items],
            "prompt_frames": torch.tensor([it["prompt_frames"] for it in items]),
            "drop": torch.tensor([it["drop"] for it in items]),
            "partner": [it["partner"] for it in items], "partner_mel": partner_mel,
            "partner_frames": partner_frames, "partner_text": [it["partner_text"] for it in items]}


class Objective(nn.Module):
    """The five stages' losses on one module, as the zoo's engine wants it: ``forward(**batch, stage=name)``. The
    parts trained by earlier stages are frozen (eval mode, no gradient) in later ones, and what they make of an
    utterance — its tokens, its speaker embedding — is computed once and kept (:meth:`kept_inputs`)."""

    def __init__(self, model: M.CosyVoiceMini, crop_frames: int = 200, flow_prior: float = 0.0):
        super().__init__()
        self.model, self.crop_frames, self.flow_prior, self.kept = model, crop_frames, flow_prior, {}

    def kept_inputs(self, mel, frames, index) -> tuple[list[torch.Tensor], torch.Tensor]:
        """The tokens and the speaker embedding of each utterance of the batch (by its ``index``)."""
        m, missing = self.model, [b for b, k in enumerate(index) if k not in self.kept]
        if missing:
            with frozen(m.tokenizer, m.speaker_encoder):
                rows = torch.tensor(missing, device=mel.device)
                tokens, lengths, *_ = m.tokenizer.encode(mel[rows], frames[rows])
                embedding = m.speaker_encoder(mel[rows], frames[rows])
            for j, b in enumerate(missing):
                self.kept[index[b]] = (tokens[j, : int(lengths[j])], embedding[j])
        return [self.kept[k][0] for k in index], torch.stack([self.kept[k][1] for k in index])

    def partner_inputs(self, partner, partner_mel, partner_frames) -> tuple[list[int], list, torch.Tensor | None]:
        """The rows of the batch that have a partner (``partner`` ≥ 0), and those partners' tokens and speaker
        embeddings (:meth:`kept_inputs`; none for a batch without partners). Used by the LM and the flow stages."""
        rows = [b for b, k in enumerate(partner) if k >= 0]
        if not rows:
            return rows, [], None
        return rows, *self.kept_inputs(partner_mel[rows], partner_frames[rows], [partner[b] for b in rows])

    def forward(self, mel, frames, text, text_lengths, texts, languages, speaker, index, start, prompt_frames, drop,
                partner, partner_mel, partner_frames, partner_text, stage=None):
        m = self.model
        if stage in ("asr", "tokenizer"):
            return m.tokenizer(mel, frames, text, text_lengths, quantized=stage == "tokenizer")
        if stage == "speaker":
            return m.speaker_encoder.loss(mel, frames, speaker)
        tokens, embedding = self.kept_inputs(mel, frames, index)
        if stage == "lm":
            return self.lm_loss(tokens, embedding, texts, languages, partner, partner_mel, partner_frames,
                                partner_text)
        crops = [mel[b, s: min(s + self.crop_frames, int(frames[b]))] for b, s in enumerate(start)]
        pieces = [t[s // FRAMES_PER_TOKEN:][: -(-len(c) // FRAMES_PER_TOKEN)] for t, s, c in zip(tokens, start, crops)]
        rows, before, _ = self.partner_inputs(partner, partner_mel, partner_frames)
        if rows:  # the partner said first, its whole mel the prompt, as zero-shot synthesis gives the flow a prompt
            prompt_frames = prompt_frames.clone()
            for j, b in enumerate(rows):
                said = M.token_frames(partner_mel[b, : int(partner_frames[b])], len(before[j]))
                crops[b], pieces[b] = torch.cat([said, crops[b]]), torch.cat([before[j], pieces[b]])
                prompt_frames[b] = len(said)
        return m.flow(nn.utils.rnn.pad_sequence(crops, batch_first=True, padding_value=SILENCE),
                      torch.tensor([len(c) for c in crops], device=mel.device),
                      nn.utils.rnn.pad_sequence(pieces, batch_first=True),
                      torch.tensor([len(p) for p in pieces], device=mel.device), embedding, prompt_frames, drop,
                      self.flow_prior)

    def lm_loss(self, tokens, embedding, texts, languages, partner, partner_mel, partner_frames, partner_text):
        """The LM's loss on each utterance said alone, or after its partner as zero-shot synthesis sees a prompt:
        the partner's text, a space, the text; the partner's tokens, then the utterance's; the partner's voice."""
        texts, speech, embedding = list(texts), [t.tolist() for t in tokens], embedding.clone()
        rows, before, voices = self.partner_inputs(partner, partner_mel, partner_frames)
        for j, b in enumerate(rows):
            texts[b] = joined_ids(partner_text[b], texts[b])
            speech[b] = before[j].tolist() + speech[b]
            embedding[b] = voices[j]
        return self.model.lm(embedding, [self.model.lm.text_tokens(t, lang) for t, lang in zip(texts, languages)],
                             speech)


def train(recipe: Recipe, directory, log_path=None, options=None) -> dict:
    """Trains cosyvoice-mini's four stages through the zoo's engine and saves it into ``directory``, with the mean
    embedding of every training voice as its named speakers."""
    from functools import partial

    from accelerate import PartialState

    from ...core.engine import Options, Stage, fit
    from ...core.training import stage_rate

    torch.manual_seed(recipe.seed)
    train_set = [u for corpus in corpora(recipe).values() for u in corpus.train]
    speakers = sorted({u.speaker for u in train_set})
    model = M.CosyVoiceMini(speakers=speakers, training_speakers=len(speakers), **M.MINI)
    plan = (("asr", recipe.asr_steps, recipe.batch_size), ("tokenizer", recipe.tokenizer_steps, recipe.batch_size),
            ("speaker", recipe.speaker_steps, recipe.batch_size), ("lm", recipe.lm_steps, recipe.batch_size),
            ("flow", recipe.flow_steps, recipe.flow_batch))
    prepared = prepare(train_set, speakers)
    partners = {"lm": recipe.partner_fraction, "flow": recipe.flow_partner_fraction}
    stages = [Stage(name, Utterances(prepared, steps * batch, recipe.seed + k,
                                     recipe.prompt_fraction if name == "flow" else 0.0,
                                     recipe.unconditional if name == "flow" else 0.0, recipe.crop_frames,
                                     partners.get(name, 0.0)), steps, batch)
              for k, (name, steps, batch) in enumerate(plan)]
    objective = Objective(model, recipe.crop_frames, recipe.flow_prior)
    optimizer = torch.optim.AdamW(objective.parameters(), lr=recipe.learning_rate, weight_decay=1e-2)
    lengths = tuple(stage.steps for stage in stages)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, partial(stage_rate, stages=lengths, warmup=recipe.warmup))
    info = fit(objective, optimizer, schedule, stages, collate, options or Options(), Path(directory) / "state",
               log_path, desc="cosyvoice-mini", clip=1.0)
    trained = info.pop("model").model.eval()
    if info["finished"] and PartialState().is_main_process:
        with torch.no_grad():
            embeddings = torch.stack([trained.speaker_encoder(m[None], torch.tensor([len(m)]))[0]
                                      for m in prepared["mels"]])
            owners = torch.tensor(prepared["speakers"])
            for s in range(len(speakers)):
                trained.speaker_table[s] = nn.functional.normalize(embeddings[owners == s].mean(0), dim=0)
        M.save(trained, directory)
    return info


# ---------------------------------------------------------------------------------------------- evaluation

@torch.no_grad()
def recognise(model: M.CosyVoiceMini, clips) -> list[str]:
    """The S3 recogniser's greedy CTC transcripts of 16-kHz clips, read from the speech tokens alone (English
    letters; Mandarin as tone-numbered pinyin)."""
    from ..ctc import greedy_decode
    from .frontend import decode

    out = []
    for audio in clips:
        ids = torch.tensor(model.speech_tokens(audio))
        log_probs = model.tokenizer.recognise_tokens(ids[None], torch.tensor([len(ids)]))[0]
        out.append(decode(greedy_decode(log_probs)).strip())
    return out


def reference(utterance) -> str:
    """The transcript as the S3 recogniser writes it (English as is, Mandarin in tone-numbered pinyin)."""
    from .frontend import normalize

    return normalize(utterance.text, utterance.language)


def error_rate(references: list[str], transcripts: list[str], language: str) -> float:
    """The character error rate in English; in Mandarin the error rate over pinyin syllables, which counts what the
    character error rate of Chinese text counts (one syllable per character)."""
    from ...data.text import error_rates

    rates = error_rates(references, transcripts)
    return round(rates["cer"] if language == "en" else rates["wer"], 4)


def prompts(split: list) -> list:
    """For each utterance of a held-out ``split``, the prompt of its zero-shot synthesis: another utterance of the
    same voice (the next one in the split), or None when the voice has only one."""
    out = []
    for k, u in enumerate(split):
        others = [v for v in split[k + 1:] + split[:k] if v.speaker == u.speaker]
        out.append(others[0] if others else None)
    return out


def synthesize_test(model: M.CosyVoiceMini, split: list, limit: int | None = None, steps: int = 10,
                    guidance: float = 0.7) -> list:
    """``(utterance, prompt, audio)`` of the first ``limit`` utterances of a held-out ``split`` that have a prompt
    (:func:`prompts`): each text said zero-shot in the voice of its prompt, seed = its index."""
    out = []
    for k, (u, p) in enumerate(zip(split, prompts(split))):
        if p is not None and (limit is None or len(out) < limit):
            speech = next(model.inference_zero_shot(u.text, p.text, p.audio, steps=steps, guidance=guidance, seed=k))
            out.append((u, p, speech["tts_speech"][0].numpy()))
    return out


def evaluate(directory, test: dict, limit: int | None = None, judges: bool = True) -> dict:
    """cosyvoice-mini on held-out voices (``test``: language → the held-out split; its first ``limit`` utterances,
    or those with a prompt for the round trip): the S3 recogniser on real speech (what
    the tokens carry), the codebook's use, the speaker encoder's equal error rate, and the round trip — each text
    said zero-shot in a held-out voice, voiced by the real HiFi-GAN, transcribed by ctc-mini (English, trained on
    real speech only) and by the S3 recogniser; with ``judges``, the real judges too: Whisper tiny.en's WER and the
    GE2E speaker encoder's cosine to the prompt and to other voices, each beside its floor on the original audio."""
    from ... import judges as J
    from ..ctc import load as load_ctc

    model = M.load(directory)
    result = {}
    splits, test = test, {language: split[:limit] for language, split in test.items()}
    for language, utterances in test.items():
        rate = error_rate([reference(u) for u in utterances], recognise(model, [u.audio for u in utterances]),
                          language)
        result[f"token_error_{language}"] = rate
    codes = [t for utterances in test.values() for u in utterances for t in model.speech_tokens(u.audio)]
    result["codes_used"] = round(len(set(codes)) / len(model.tokenizer.codebook), 4)
    everyone = [u for utterances in test.values() for u in utterances]
    same, different = pair_scores([model.embed_speaker(u.audio) for u in everyone], [u.speaker for u in everyone],
                                  lambda a, b: float(a @ b))
    if same and different:  # a smoke run's few utterances may have no pair of one voice
        result["speaker_eer"] = round(J.equal_error_rate(same, different), 4)
    ctc_mini = load_ctc(released("ctc-mini"))
    for language, utterances in test.items():
        made = synthesize_test(model, splits[language], limit)
        if not made:
            raise ValueError(f"no held-out {language} voice has two utterances to serve as text and prompt; "
                             "raise n_test")
        result.update(judge_round_trip(model, made, language, ctc_mini, judges))
    return result


def pair_scores(embeddings: list, speakers: list[str], score) -> tuple[list[float], list[float]]:
    """``score(a, b)`` of every pair of ``embeddings``, split into same-voice and different-voice pairs (what an equal
    error rate reads). Used by :func:`evaluate` and notebook 07."""
    same, different = [], []
    for i in range(len(embeddings)):
        for j in range(i + 1, len(embeddings)):
            (same if speakers[i] == speakers[j] else different).append(score(embeddings[i], embeddings[j]))
    return same, different


def judge_round_trip(model: M.CosyVoiceMini, made: list, language: str, ctc_mini, judges: bool = True) -> dict:
    """The round trip of ``made`` (:func:`synthesize_test`'s ``(utterance, prompt, audio)``) in ``language``, judged:
    the S3 recogniser's error (``roundtrip_error_LANG``); in English ctc-mini's character error rate beside its floor on
    the original speech; with ``judges``, Whisper tiny.en's WER (English) and the GE2E cosine of each synthesised
    utterance to its prompt's voice, to the other voices, and of the original utterance to its prompt's voice (the
    floor). Used by :func:`evaluate` and notebook 07."""
    from ... import judges as J

    said = [audio for _, _, audio in made]
    result = {f"roundtrip_error_{language}": error_rate([reference(u) for u, _, _ in made], recognise(model, said),
                                                        language)}
    if language == "en":
        texts = [u.text for u, _, _ in made]
        originals = [u.audio for u, _, _ in made]
        result["roundtrip_cer_en"] = error_rate(texts, ctc_mini.transcribe(said), "en")
        result["roundtrip_cer_en_original"] = error_rate(texts, ctc_mini.transcribe(originals), "en")
        if judges:
            result["whisper_wer_en"] = round(J.word_error_rate(texts, J.transcribe(said)), 4)
            result["whisper_wer_en_original"] = round(J.word_error_rate(texts, J.transcribe(originals)), 4)
    if judges:
        to_prompt, to_other, original = [], [], []
        voices = {p.speaker: J.speaker_embedding(p.audio) for _, p, _ in made}
        for u, p, audio in made:
            e = J.speaker_embedding(audio)
            to_prompt.append(J.cosine(e, voices[p.speaker]))
            to_other += [J.cosine(e, v) for s, v in voices.items() if s != p.speaker]
            original.append(J.cosine(J.speaker_embedding(u.audio), voices[p.speaker]))
        result[f"similarity_prompt_{language}"] = round(float(np.mean(to_prompt)), 4)
        if to_other:  # a few utterances may all be of one voice
            result[f"similarity_other_{language}"] = round(float(np.mean(to_other)), 4)
        result[f"similarity_original_{language}"] = round(float(np.mean(original)), 4)
    return result


def test_split(recipe: Recipe) -> dict:
    return {language: corpus.test for language, corpus in corpora(recipe).items()}


TARGETS = {"roundtrip_cer_en": ("≤", 0.10), "roundtrip_error_zh": ("≤", 0.15)}


def measure(directory, recipe: Recipe, smoke: bool = False) -> dict:
    """The card's numbers: ``held_out`` on every held-out utterance with the real judges, ``check`` on
    :data:`CHECK_SUBSET` without them. A smoke model's LM is untrained and writes until its token limit: its held-out
    numbers are the check subset's (a minute less in the recipe's smoke test)."""
    checked = check(directory, recipe)
    return {"held_out": checked if smoke else evaluate(directory, test_split(recipe)), "check": checked}


def check(directory, recipe: Recipe) -> dict:
    return evaluate(directory, test_split(recipe), CHECK_SUBSET["utterances_per_language"], judges=False)


_LANGUAGE = {"en": "English", "zh": "Mandarin"}
_ERROR = {"en": "character error rate", "zh": "pinyin-syllable error rate"}
CARD = {
    "language": ["en", "zh"],
    "library_name": "pytorch",
    "pipeline_tag": "text-to-speech",
    "tags": ["cosyvoice", "text-to-speech", "speech-tokens", "flow-matching", "miniature", "synthetic-speech",
             "espeak-ng"],
    "dataset": "synthetic eSpeak NG speech (helpers.data.corpus): English digit strings, Mandarin digits and words",
    "held_out": "held-out voices",
    "metric_names": {
        **{f"token_error_{lang}": f"S3 recogniser from the speech tokens alone, {_LANGUAGE[lang]} real speech, "
                                  f"{_ERROR[lang]}" for lang in _LANGUAGE},
        "codes_used": "fraction of the 256 codewords used on the held-out speech",
        "speaker_eer": "x-vector speaker encoder, equal error rate over held-out voice pairs",
        **{f"roundtrip_error_{lang}": f"round trip, {_LANGUAGE[lang]} said zero-shot and voiced by the real HiFi-GAN, "
                                      f"S3 recogniser {_ERROR[lang]}" for lang in _LANGUAGE},
        "roundtrip_cer_en": "round trip, English said zero-shot, ctc-mini character error rate",
        "roundtrip_cer_en_original": "ctc-mini character error rate on the original English speech (its floor)",
        "whisper_wer_en": "round trip, English said zero-shot, Whisper tiny.en word error rate (real judge)",
        "whisper_wer_en_original": "Whisper tiny.en word error rate on the original English speech (its floor)",
        **{f"similarity_{which}_{lang}": f"GE2E cosine (real judge), {_LANGUAGE[lang]}, {what}"
           for lang in _LANGUAGE for which, what in (
               ("prompt", "synthesised speech to its prompt's voice"),
               ("other", "synthesised speech to the other held-out voices"),
               ("original", "the original utterance to its prompt's voice (same voice, real speech)"))},
    },
    "data": {"corpus": "helpers.data.corpus.make_corpus: English digit strings (3–6 digits) and Mandarin strings of "
                       "3–6 words from the ten digits and 欢迎 使用 进行 语音 合成, eSpeak NG voices with rate and pitch "
                       "jitter, 16 kHz; the vocoder's 80-band log-mel (10-ms frames)",
             "train_speakers": "48 English voices (4 accents × 12 variants) and 12 Mandarin voice variants",
             "test_speakers": "12 English and 6 Mandarin voices none of which is heard in training"},
    "description": (
        "CosyVoice (Du et al. 2024) in miniature: a supervised semantic speech tokenizer (a CTC recogniser with a "
        "256-codeword vector quantizer in its middle, 25 tokens per second), an x-vector speaker encoder, a "
        "decoder-only Transformer from text to speech tokens and a conditional flow-matching decoder from tokens, "
        "speaker embedding and prompt to the 80-band log-mel of the real packaged HiFi-GAN, which voices it. One "
        "`save_pretrained` folder (`CosyVoiceMini.from_pretrained`, stored in float16) with CosyVoice's "
        "`inference_sft` / `inference_zero_shot` API; the round trip is judged by recognisers that never heard "
        "synthesised speech (ctc-mini, the S3 recogniser, the real Whisper tiny.en) and by the real GE2E encoder."),
}
