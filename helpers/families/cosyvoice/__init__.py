"""CosyVoice in miniature (notebook 07, Du et al. 2024): text → supervised speech tokens → mel → waveform.

- :mod:`.frontend`  text normalisation (English letters, Mandarin through tone-numbered pinyin) and its ids
- :mod:`.tokens`    the supervised semantic speech tokenizer (S3): a vector quantizer inside a CTC recogniser
- :mod:`.speaker`   an x-vector speaker encoder trained on our voices
- :mod:`.lm`        the text-to-token language model, its kv-cache and its sampling (top-k/top-p, repetition-aware)
- :mod:`.flow`      conditional flow matching (the OT path, its loss, the Euler sampler, classifier-free guidance)
- :mod:`.model`     ``CosyVoiceMini``: the four parts in one ``from_pretrained`` folder, with CosyVoice's
                    ``inference_sft`` / ``inference_zero_shot`` API
- :mod:`.recipe`    the zoo recipe of cosyvoice-mini and its evaluation
"""
