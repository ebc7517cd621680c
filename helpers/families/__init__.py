"""One module (or package) per model family: its builder, zoo recipe and evaluation side by side."""
