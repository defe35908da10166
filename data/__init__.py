"""The data stage: real data as every stage that needs it reads it. Training trains on it; evaluation builds its
held-out references, judges and floors from the same loaders, so both see the same pixels.

  datasets.py         images: the embedded digits, TFDS datasets read offline, folder:PATH
  input_pipeline.py   endless, seeded, resumable batches (batch b is a function of (seed, b))
  toy_data.py         the WGAN-GP paper's 2-D toy distributions (toy:NAME) and their scatter picture's data
  toy_plots.py        that picture: real and generated points over the critic's contours
  text_data.py        text:PATH corpora, vocabularies and the held-out split

It imports nothing of the stages (common/ only), so training and evaluation may both import it without a cycle.
"""
