"""helpers: the small package behind the notebooks of *Audio Large Models, from zero to mastery*.

One module per concern; the public names are re-exported here so that notebooks write ``import helpers as H``
and call ``H.load(...)``, ``H.speak(...)``, ``H.record(...)``.

- ``audio``    load / save / resample / normalise / validate waveforms
- ``synth``    tones, chirps, noise at an SNR, chords, arpeggios, drums
- ``speech``   eSpeak NG speech through ctypes (English voices and variants, Mandarin via pinyin)
- ``features`` STFT, mel filterbank, log-mel and MFCC from scratch (notebook 01)
- ``display``  audio players and figures
- ``records``  named results written into a notebook's outputs and read back by the tests
- ``runtime``  seeding, device choice, timing / real-time factor, progress bars
- ``cache``    the on-disk cache of corpora and miniatures (content-hashed, outside git)
- ``models``   ``model_id`` → miniature, local directory or hub checkpoint (never a silent fallback)
- ``runner``   papermill runs under profiles, refresh, prefetch (``python -m helpers``)
- ``corpus``   the synthetic speech corpus (eSpeak NG, held-out speakers, cached), torch dataset + collate
- ``text``     character tokenizer with a CTC blank, CER/WER and error confusions

Modules that need torch are imported by name, so that ``import helpers`` stays light:
``from helpers import asr, ctc, training`` (acoustic models, CTC from scratch, training plumbing).
"""
from .audio import check_audio, check_sample_rate, load, normalize, resample, save, supported_suffixes, to_mono
from .display import explorer, play, plot_spectrogram, plot_waveform, show_source, show_wave_spec, use_style
from .features import (dct_matrix, frame, hann_window, hz_to_mel, log_mel, mel_filterbank, mel_to_hz, mfcc,
                       power_to_db, preemphasis, stft)
from .cache import build_once, cache_dir
from .corpus import Corpus, CorpusSpec, SpeechDataset, Utterance, collate, make_corpus
from .models import ModelUnavailableError, build_miniature, resolve_model
from .records import read_records, record
from .runtime import Timer, pick_device, progress, seed_everything, versions
from .speech import ESPEAK_SR, list_variants, list_voices, speak, speak_mandarin, to_pinyin
from .synth import add_noise, arpeggio, chirp, chord, drum, noise, snr_db, tone
from .text import CharTokenizer, confusions, error_rates

__all__ = [name for name in dir() if not name.startswith("_") and name not in {
    "audio", "cache", "corpus", "display", "features", "models", "records", "runtime", "speech", "synth", "text"}]
