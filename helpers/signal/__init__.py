"""Signal processing from scratch: STFT, mel filterbank, log-mel and MFCC (``features``, notebook 01 onwards);
noise and echo scenes, enhancement metrics, classical noise reduction and NLMS echo cancellation (``enhance``, 02)."""
