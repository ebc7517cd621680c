"""``CosyVoiceMini`` (notebook 07): the S3 tokenizer, the speaker encoder, the token language model and the flow
decoder in one ``save_pretrained`` folder, behind the API of the official CosyVoice (``inference_sft`` with a named
speaker, ``inference_zero_shot`` with a prompt; both yield ``{"tts_speech": tensor (1, samples)}``), so that a
notebook reads like the real thing. The waveform comes from a vocoder outside the folder: the real packaged HiFi-GAN
(:func:`helpers.judges.vocode`) by default, Griffin-Lim as the baseline.
"""
from __future__ import annotations

import re
import time

import numpy as np
import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from .flow import FlowDecoder
from .frontend import CHARACTERS, joined_ids, text_ids
from .lm import TokenLM
from .speaker import SpeakerEncoder
from .tokens import FRAMES_PER_TOKEN, S3Tokenizer

SAMPLE_RATE = 16_000
MAX_PROMPT_SECONDS = 8  # the LM's positions hold a prompt's 25 tokens a second and the texts
VOCODERS = ("hifigan", "griffin-lim")
SILENCE = float(np.log(1e-5))  # the log-mel of silence: the padding
MINI = dict(codebook=256, tokenizer_dim=96, speaker_dim=64, lm_dim=160, lm_layers=4, flow_dim=128, flow_encoder=3,
            flow_layers=3)  # 5.0 M parameters: 10 MB in float16
SAMPLING = dict(top_k=25, top_p=0.8, window=10, tau_r=0.1)  # CosyVoice 2's defaults


def language_of(text: str) -> str:
    """``"zh"`` when ``text`` has a Chinese character, else ``"en"`` (CosyVoice's front end decides the same way)."""
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def mel_of(audio) -> torch.Tensor:
    """The vocoder's log-mel of 16-kHz audio as ``(frames, 80)``: what every part of the model reads."""
    from ...judges import vocoder_mel

    return torch.from_numpy(vocoder_mel(np.asarray(audio, np.float32)).T.copy())


class CosyVoiceMini(nn.Module, PyTorchModelHubMixin):
    """The four parts (sizes as :data:`MINI`) and ``speakers``: the names of the voices ``inference_sft`` offers,
    with their mean embeddings in ``speaker_table`` (CosyVoice's ``spk2info``). ``training_speakers``: the number of
    voices the speaker encoder was trained to tell apart."""

    sample_rate = SAMPLE_RATE

    def __init__(self, speakers: list[str] | None = None, training_speakers: int = 60, codebook: int = 256,
                 tokenizer_dim: int = 128, speaker_dim: int = 64, lm_dim: int = 160, lm_layers: int = 4,
                 flow_dim: int = 128, flow_encoder: int = 1, flow_layers: int = 3):
        super().__init__()
        self.sizes = dict(speakers=list(speakers or []), training_speakers=training_speakers, codebook=codebook,
                          tokenizer_dim=tokenizer_dim, speaker_dim=speaker_dim, lm_dim=lm_dim, lm_layers=lm_layers,
                          flow_dim=flow_dim, flow_encoder=flow_encoder, flow_layers=flow_layers)  # builds a twin
        self.tokenizer = S3Tokenizer(vocab=len(CHARACTERS) + 1, d_model=tokenizer_dim, codebook=codebook)
        self.speaker_encoder = SpeakerEncoder(dim=speaker_dim, speakers=training_speakers)
        self.lm = TokenLM(codebook, speaker_dim, lm_dim, lm_layers)
        self.flow = FlowDecoder(codebook, speaker_dim, d_model=flow_dim, encoder=flow_encoder, layers=flow_layers)
        self.speakers = list(speakers or [])
        self.register_buffer("speaker_table", torch.zeros(len(self.speakers), speaker_dim))
        self.vocoder = "hifigan"

    # ------------------------------------------------------------------------------------------ the parts
    @property
    def device(self) -> torch.device:
        return self.speaker_table.device

    @torch.no_grad()
    def speech_tokens(self, audio) -> list[int]:
        """The S3 tokens of 16-kHz speech (25 per second)."""
        mel = mel_of(audio).to(self.device)
        ids, lengths, *_ = self.tokenizer.encode(mel[None], torch.tensor([len(mel)], device=self.device))
        return ids[0, : int(lengths[0])].tolist()

    @torch.no_grad()
    def embed_speaker(self, audio) -> torch.Tensor:
        """The unit-length speaker embedding of 16-kHz speech."""
        mel = mel_of(audio).to(self.device)
        return self.speaker_encoder(mel[None], torch.tensor([len(mel)], device=self.device))[0]

    def list_available_spks(self) -> list[str]:
        """The named voices of ``inference_sft`` (CosyVoice's method name)."""
        return list(self.speakers)

    def voice(self, mel: torch.Tensor) -> np.ndarray:
        """16-kHz audio of a ``(80, frames)`` log-mel through :attr:`vocoder` (``"hifigan"``, ``"griffin-lim"``),
        clipped to ±0.99 as CosyVoice's HiFT vocoder clips its output (``audio_limit``): a mel louder than any the
        vocoder saw would otherwise come out past full scale."""
        from ...judges import vocode

        if self.vocoder not in VOCODERS:
            raise ValueError(f"vocoder {self.vocoder!r} must be one of {VOCODERS}")
        return np.clip(vocode(mel.cpu().numpy(), method=self.vocoder), -0.99, 0.99)

    def text_tokens(self, text: str, language: str | None = None) -> list[int]:
        language = language or language_of(text)
        return self.lm.text_tokens(text_ids(text, language), language)

    # ------------------------------------------------------------------------------------------ synthesis
    @torch.no_grad()
    def synthesize(self, text: str, speaker: torch.Tensor, prompt_text: str | None = None,
                   prompt_audio=None, steps: int = 10, guidance: float = 0.7, seed: int = 0,
                   chunk: int | None = None, sampling: dict | None = None):
        """Yields ``(tokens, mel)`` of ``text`` in the voice of ``speaker`` (an embedding), continuing a prompt
        (its text and 16-kHz audio) when given: the LM draws the tokens (``sampling``: :data:`SAMPLING`), the flow
        turns them into mel in ``steps`` Euler steps with guidance ``guidance``. With ``chunk`` tokens, each chunk
        is yielded as soon as it is ready (streaming: the flow conditions on the mel made so far as its prompt)."""
        generator = torch.Generator(self.device).manual_seed(seed)
        # a stream's flow draws its noise between the LM's draws: from a generator of its own, so that the LM writes
        # the same tokens streamed or not (without a stream the flow draws after the LM, from the LM's generator)
        flow_generator = generator if chunk is None else torch.Generator(self.device).manual_seed(seed + 1)
        language = language_of(text)
        text_part = text_ids(text, language)
        prompt_tokens, prompt_mel = [], None
        if prompt_audio is not None:
            if not prompt_text:
                raise ValueError("a prompt's audio needs its transcript (prompt_text)")
            text_part = joined_ids(text_ids(prompt_text, language_of(prompt_text)), text_part)
            prompt_tokens = self.speech_tokens(prompt_audio)
            prompt_mel = token_frames(mel_of(prompt_audio), len(prompt_tokens)).T.to(self.device)
        sequence = self.lm.text_tokens(text_part, language)
        n = len(text_ids(text, language))
        options = {**SAMPLING, **(sampling or {})}
        made, mel_so_far = [], prompt_mel
        for new in self.lm.generate(speaker, sequence, prompt_tokens, min_tokens=n, max_tokens=5 * n + 10,
                                    generator=generator, chunk=chunk, **options):
            made += new
            context = prompt_tokens + made
            mel = self.flow.sample(torch.tensor(context, device=self.device), speaker, mel_so_far, steps, guidance,
                                   generator=flow_generator)
            mel_so_far = mel if mel_so_far is None else torch.cat([mel_so_far, mel], 1)
            yield new, mel

    def _speech(self, pieces, stream: bool):
        """CosyVoice's output dicts from ``(tokens, mel)`` pieces: one per piece when streaming (each voiced with
        the end of the previous mel as context), else one for the whole utterance."""
        if not stream:
            mel = torch.cat([m for _, m in pieces], 1)
            yield {"tts_speech": torch.from_numpy(self.voice(mel))[None]}
            return
        context = None
        for _, mel in pieces:
            left = 0 if context is None else context.shape[1]
            audio = self.voice(mel if context is None else torch.cat([context, mel], 1))
            yield {"tts_speech": torch.from_numpy(audio[left * 160:])[None]}
            context = mel[:, -8:]

    def inference_sft(self, tts_text: str, spk_id: str, stream: bool = False, chunk: int = 25, **options):
        """Speech of ``tts_text`` in the named voice ``spk_id`` (one of :meth:`list_available_spks`)."""
        if spk_id not in self.speakers:
            raise ValueError(f"unknown speaker {spk_id!r}; the voices are {self.speakers[:6]}… "
                             "(list_available_spks())")
        speaker = self.speaker_table[self.speakers.index(spk_id)]
        pieces = self.synthesize(tts_text, speaker, chunk=chunk if stream else None, **options)
        yield from self._speech(pieces, stream)

    def inference_zero_shot(self, tts_text: str, prompt_text: str, prompt_speech_16k, stream: bool = False,
                            chunk: int = 25, **options):
        """Speech of ``tts_text`` in the voice of a prompt: ``prompt_speech_16k`` (16-kHz audio, a few seconds)
        saying ``prompt_text``."""
        prompt = np.asarray(prompt_speech_16k, np.float32).reshape(-1)
        if len(prompt) > MAX_PROMPT_SECONDS * SAMPLE_RATE:
            raise ValueError(f"the prompt is {len(prompt) / SAMPLE_RATE:.1f} s long; give at most "
                             f"{MAX_PROMPT_SECONDS} s (3 s is enough to clone a voice)")
        pieces = self.synthesize(tts_text, self.embed_speaker(prompt), prompt_text, prompt,
                                 chunk=chunk if stream else None, **options)
        yield from self._speech(pieces, stream)


def first_packet(outputs) -> tuple[float, float, np.ndarray]:
    """Runs a (streaming) ``inference_*`` generator: the seconds until its first piece of audio, the seconds in
    all, and the audio (pieces joined)."""
    start, first, pieces = time.perf_counter(), None, []
    for out in outputs:
        first = first if first is not None else time.perf_counter() - start
        pieces.append(out["tts_speech"][0].numpy())
    return first, time.perf_counter() - start, np.concatenate(pieces)


def token_frames(mel: torch.Tensor, tokens: int) -> torch.Tensor:
    """A log-mel ``(T, 80)`` padded with silence to the ``tokens`` speech tokens' frames (they are ⌈T / 4⌉): a
    prompt's mel as the flow reads it, each token over its four frames (synthesis and the recipe)."""
    return nn.functional.pad(mel, (0, 0, 0, tokens * FRAMES_PER_TOKEN - len(mel)), value=SILENCE)


def load(directory) -> CosyVoiceMini:
    """cosyvoice-mini from a ``save_pretrained`` folder (stored in float16, computed in float32), in eval mode."""
    from ...core.engine import from_pretrained

    return from_pretrained(CosyVoiceMini, directory).float().eval()


def save(model: CosyVoiceMini, directory) -> None:
    """``save_pretrained`` in float16 (half the size; the card's metrics are measured on the saved copy)."""
    import copy

    copy.deepcopy(model).half().save_pretrained(directory)
