"""Signal processing from scratch: STFT, mel filterbank, log-mel and MFCC (notebook 01 onwards)."""
