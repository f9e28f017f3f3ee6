"""Small helpers shared by the suite's encoders."""
from typing import Dict, Sequence


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
