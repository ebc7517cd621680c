"""SenseVoice (notebook 06): funasr's real ``SenseVoiceSmall`` class in miniature — the rich-label speech of
:mod:`.data`, the front end written out in :mod:`.frontend`, the model folder and its tokenizer in :mod:`.model`,
and the zoo recipe of sensevoice-mini in :mod:`.recipe`."""
