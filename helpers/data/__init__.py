"""What the notebooks learn from: eSpeak NG speech, synthesised sounds, the speech corpus, text tokenizers and error rates."""
