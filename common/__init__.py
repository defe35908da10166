"""Helpers every stage uses (training, evaluation, export, serve) and that import nothing of any stage.

serve/ must not import training/ (it runs without TensorFlow), and training/ must not import downstream stages,
so a helper both need lives here. Only NumPy at import time.
"""
