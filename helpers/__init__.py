"""helpers: the small package behind the notebooks of *Audio Large Models, from zero to mastery*.

Grouped by layer; each floor imports only the ones below it:

- ``core``      audio I/O and validation, checks of user input, runtime (seed, device, timing, progress), the
                cache, records, training, and the zoo recipes' accelerate engine
- ``data``      eSpeak NG speech, synthesised sounds, the speech corpus, text (tokenizers, error rates)
- ``signal``    features (STFT, mel, MFCC from scratch) and enhancement (scenes, metrics, classical filters, NLMS)
- ``families``  one module per model family (``ctc``, ``u2``, ``whisper``, ``enhancer``, ``wav2vec2``, ``sensevoice``,
                ``cosyvoice``, ``audioldm``):
                builder, recipe and evaluation side by side
- ``zoo``       ``model_id`` → zoo miniature, scratch miniature, local directory or hub checkpoint
- ``notebook``  the papermill runner (profiles, refresh) and display (players, figures)

The public names are re-exported here, so that notebooks write ``import helpers as H`` and call ``H.load(...)``,
``H.speak(...)``, ``H.record(...)``. Modules that need torch are imported by name, so that ``import helpers``
stays light: ``from helpers.families import ctc, u2, whisper``, ``from helpers.signal import enhance`` and
``from helpers.core import training``.
"""
from .core.audio import check_audio, check_sample_rate, load, normalize, resample, save, supported_suffixes, to_mono
from .core.cache import build_once, cache_dir
from .core.records import read_records, record
from .core.runtime import Timer, cpu_threads, pick_device, progress, seed_everything, versions
from .data.corpus import Corpus, CorpusSpec, SpeechDataset, Utterance, collate, make_corpus
from .data.sounds import Clip, SoundSpec, Sounds, make_sounds
from .data.speech import ESPEAK_SR, list_variants, list_voices, speak, speak_mandarin, to_pinyin
from .data.synth import add_noise, arpeggio, chirp, chord, drum, noise, si_sdr_db, snr_db, tone
from .data.text import CharTokenizer, confusions, error_rates
from .notebook.display import explorer, play, plot_spectrogram, plot_waveform, show_source, show_wave_spec, use_style
from .signal.features import (dct_matrix, frame, hann_window, hz_to_mel, log_mel, mel_filterbank, mel_to_hz, mfcc,
                              power_to_db, preemphasis, stft)
from .zoo import ModelUnavailableError, build_miniature, resolve_model

__all__ = [name for name in dir() if not name.startswith("_") and name not in {
    "core", "data", "families", "notebook", "signal", "zoo"}]
