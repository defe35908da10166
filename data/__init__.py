"""The data stage: real data as every stage that needs it reads it. Training trains on it; evaluation builds its
held-out references, judges and floors from the same loaders, so both see the same pixels.

  datasets.py         images: the embedded digits, TFDS datasets read offline, folder:PATH
  folders.py          which files a folder:PATH lists, and their classes
  folder_images.py    which of them a run can read (the pixel cap of common/image_limits.py), and how to decode each
  decode.py           encoded files of any mode -> RGB over --alpha_background, large ones at reduced size
  input_pipeline.py   endless, seeded, resumable batches (batch b is a function of (seed, b))
  toy_data.py         the WGAN-GP paper's 2-D toy distributions (toy:NAME) and their scatter picture's data
  toy_plots.py        that picture: real and generated points over the critic's contours
  text_data.py        text:PATH corpora, vocabularies and the held-out split
  quiet_start.py      TensorFlow loaded without a CPU host's CUDA probe errors (every TensorFlow command calls it)

It imports nothing of the stages (common/ only), so training and evaluation may both import it without a cycle.
"""
