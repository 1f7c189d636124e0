"""Training and evaluation of the project's own small CLIP-style models (the zoo)."""
