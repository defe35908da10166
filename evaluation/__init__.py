"""Evaluation, a stage of its own beside training/, export/ and serve/: offline quality numbers for generators.

  judge.py        the judges: one small classifier per dataset (committed under judges/, with a record of the
                  images it trained on), whose features and class probabilities the metrics compare
  train_judge.py  `python -m evaluation.train_judge --dataset=X` retrains a judge on its judge_split
  metrics         FCD, KID, precision/recall and the nearest-neighbour copy check, on judge features
  sources         where samples come from: a run directory, an ONNX model, a SavedModel
  FID             the Inception path, with its own sample count, when Inception weights are given
  evaluate.py     `python -m evaluation.evaluate --run_dir=... | --model=...` prints the metrics beside their
                  floor (held-out real images the judge never saw, scored against the same reference)

Every reference is held out from the judge's training (issue 9): see evaluation.judge.JUDGES for the splits.
Importing this package loads nothing (no TensorFlow, no data).
"""
