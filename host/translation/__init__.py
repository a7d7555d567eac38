"""Live translation: multilingual ASR, machine translation, the simultaneous segmenter and the
translation session."""
