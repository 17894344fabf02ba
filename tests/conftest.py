"""One torch thread in tests: on a shared 2-core machine more threads spin and slow training ~10x."""
import torch

torch.set_num_threads(1)
