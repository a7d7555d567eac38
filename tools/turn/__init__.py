"""The end-of-turn model pipeline: corpus, training, int8 conversion, evaluation, model card; and
the real-speech set (``real_set``, recordings in ``real_speech/``) that the bench also scores on.

``python -m sottovoce.tools.turn.build`` (in the ``.venv-train`` venv with the ``train`` extra)
rebuilds ``edge/models/turn_model.tflite`` and its card from nothing but the pip packages.
"""
