"""The noise every mask is drawn from: seeded, or replayed from elsewhere."""
from typing import Optional, Tuple

import torch


def mask_noise(shape: Tuple[int, ...],
               generator: Optional[torch.Generator] = None,
               noise: Optional[torch.Tensor] = None,
               device=None) -> torch.Tensor:
    """Uniform noise a mask is drawn from, or the caller's, checked.

    Every mask function takes either a generator or explicit noise, so a
    mask can be replayed (also in another implementation).

    Args:
        shape (tuple): Shape of the noise.
        generator (torch.Generator, optional): Source when drawing.
        noise (Tensor, optional): Noise to replay; overrides ``generator``.
        device: Device when drawing.

    Returns:
        Tensor: ``noise`` or a fresh ``torch.rand(shape)``.

    Raises:
        ValueError: ``noise`` has another shape.
    """
    if noise is None:
        return torch.rand(shape, generator=generator, device=device)
    if tuple(noise.shape) != tuple(shape):
        raise ValueError(f'noise must have shape {tuple(shape)}, got '
                         f'{tuple(noise.shape)}')
    return noise
