"""CLAP in miniature (helpers.families.audioldm.clap): the symmetric InfoNCE loss against transformers' CLIP loss,
the text embeddings the pipeline conditions on, caption-distinct batches and retrieval accuracy."""
import numpy as np
import pytest
import torch
from transformers.models.clip.modeling_clip import image_text_contrastive_loss

from helpers.data import sounds
from helpers.families.audioldm import clap
from helpers.families.audioldm import model as M


def test_info_nce_is_the_symmetric_clip_loss():
    g = torch.Generator().manual_seed(0)
    audio, text = torch.randn(6, 16, generator=g), torch.randn(6, 16, generator=g)
    scale = torch.tensor(2.5)
    a, t = (x / x.norm(dim=-1, keepdim=True) for x in (audio, text))
    reference = image_text_contrastive_loss(scale.exp() * t @ a.T)  # rows: texts, as CLIP's logits_per_text
    torch.testing.assert_close(clap.info_nce(audio, text, scale), reference, rtol=1e-6, atol=1e-6)
    # matching pairs that agree cost less than a batch whose pairs are shuffled
    assert clap.info_nce(text + 0.1 * audio, text, scale) < clap.info_nce(text[torch.randperm(6, generator=g)],
                                                                            text, scale)


def test_the_text_embeddings_are_the_ones_the_pipeline_conditions_on(tmp_path):
    tokenizer = M.train_tokenizer([sounds.caption(*c) for c in sounds.combinations()], tmp_path)
    pipeline = M.build(tokenizer)
    captions = ["a loud high beep with echo", "pink noise in bursts"]
    with torch.no_grad():
        ours = clap.text_embeddings(pipeline, captions)
        theirs = pipeline._encode_prompt(captions, "cpu", 1, False)  # what AudioLDMPipeline.__call__ uses
    torch.testing.assert_close(ours, theirs)
    assert ours.shape == (2, M.MINI["embedding"])


def test_batches_never_pair_two_clips_of_one_caption():
    captions = ["a", "b", "a", "c", "b", "d"]
    rng = np.random.default_rng(0)
    for _ in range(20):
        batch = clap.distinct_caption_batch(captions, 4, rng)
        assert len({captions[i] for i in batch}) == 4
    with pytest.raises(ValueError, match="only 4"):
        clap.distinct_caption_batch(captions, 5, rng)


def test_retrieval_scores_perfect_and_shuffled_embeddings():
    captions = ["a", "b", "c", "d"]
    embeds = torch.eye(4)
    clips = ["a", "b", "b", "d"]
    perfect = clap.retrieval(embeds[[0, 1, 1, 3]], clips, embeds, captions)
    assert perfect == {"text_to_audio": 1.0, "audio_to_text": 1.0}
    wrong = clap.retrieval(embeds[[3, 0, 0, 2]], clips, embeds, captions)
    assert wrong == {"text_to_audio": 0.0, "audio_to_text": 0.0}
    with pytest.raises(ValueError, match="not among the captions"):
        clap.retrieval(embeds[:1], ["e"], embeds, captions)
