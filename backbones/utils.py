"""Small helpers shared by the suite's masks and backbones."""
from typing import Dict, Optional, Sequence, Tuple

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


def resolve_arch(arch, zoo: Dict[str, dict], keys: Sequence[str]) -> dict:
    """A named arch of ``zoo`` or a custom dict with ``keys``.

    Raises:
        ValueError: The name is not in the zoo (the message lists the
            names), or the dict lacks keys (the message lists them).
    """
    if isinstance(arch, str):
        if arch.lower() not in zoo:
            raise ValueError(f'arch {arch!r} is not in {sorted(set(zoo))}')
        return dict(zoo[arch.lower()])
    if not isinstance(arch, dict) or set(keys) - set(arch):
        raise ValueError(f'a custom arch must be a dict with the keys '
                         f'{list(keys)}, got {arch!r}')
    return {k: arch[k] for k in keys}
