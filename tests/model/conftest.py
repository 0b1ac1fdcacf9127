"""Model tests run single-threaded: tiny matmuls on a shared machine are fastest that way."""

import torch

torch.set_num_threads(1)
