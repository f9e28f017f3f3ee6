"""Reconstruction pictures: what a masked image model hides and predicts.

:func:`reconstruct` runs a pretraining model on a batch and returns one
*view* per way the method masks an image (MAE and SimMIM: one view; EMAE:
its K parallel parts), each a pixel mask and the model's prediction in the
normalised space of the data preprocessor's output. A model with its own
``reconstruct(inputs)`` method (same contract) is used as it is; mmpretrain's
``MAE`` (and our ``EMAE``) and ``SimMIM`` are handled here.

:func:`render_grid` composes the picture (one row per image: the original,
then per view the masked input and the reconstruction; optionally the raw
prediction), :func:`reconstruction_png` does both for a model and returns
PNG bytes.

When the MAE head predicts norm_pix targets, the predicted patches are
un-normalised with the mean and variance of the *target* patches, as the
official MAE visualisation does: ``pred * sqrt(var + 1e-6) + mean``.
"""
import io
import math
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import print_log
from mmpretrain.models.selfsup.mae import MAE
from mmpretrain.models.selfsup.simmim import SimMIM
from PIL import Image, ImageDraw, ImageFont

from ..masking.geometry import pixel_mask
from ..masking.simmim import simmim_mask
from ..models.decoders import View, patch_views

# The picture's file name, next to the pretraining run's run_summary.json.
RECON_FILE = 'reconstruction.png'
SUPPORTED = ('any model with a reconstruct(inputs) method', 'MAE', 'EMAE',
             'SimMIM')
GREY = 128  # hidden pixels of the masked input
HEADER = 14  # pixel height of the column names
GAP = 2  # white pixels between tiles


def _mae_views(model: MAE, inputs: torch.Tensor) -> List[View]:
    """MAE (one view) and EMAE (K views): the backbone draws the mask and
    returns R = K * B rows, part-major; the decoder predicts every patch."""
    latent, mask, ids_restore = model.backbone(inputs)
    pred = model.neck(latent, ids_restore)  # (R, L, p * p * C)
    return patch_views(model.head, inputs, pred, mask)


def _simmim_views(model: SimMIM, inputs: torch.Tensor,
                  data_samples: Optional[Sequence], mask_cfg: dict,
                  generator: torch.Generator) -> List[View]:
    """SimMIM: the data pipeline's token mask (``data_samples[i].mask``) or
    one drawn from ``mask_cfg``; the neck predicts the whole image."""
    b, _, height, width = inputs.shape
    p = model.head.patch_size
    if data_samples and all('mask' in s for s in data_samples):
        mask = torch.stack([torch.as_tensor(s.mask) for s in data_samples])
    else:
        if height != width:
            raise ValueError(f'SimMIM masks need square inputs, got '
                             f'{height} x {width}')
        cfg = dict(input_size=height, model_patch_size=p)
        cfg.update(mask_cfg)
        mask = simmim_mask(b, generator=generator, **cfg)
    if mask.shape != (b, height // p, width // p):
        raise ValueError(f'SimMIM mask has shape {tuple(mask.shape)}, '
                         f'expected {(b, height // p, width // p)} for '
                         f'{height} x {width} inputs and {p} px tokens')
    mask = mask.to(inputs.device)
    latent = model.backbone(inputs, mask)
    recon = model.neck(latent[0])  # (B, C, H, W)
    return [dict(mask=pixel_mask(mask, mask.shape[1:], p), recon=recon)]


def _check_views(views, inputs: torch.Tensor, name: str) -> List[View]:
    """The contract of :func:`reconstruct`, for models' own methods."""
    b, c, height, width = inputs.shape
    if not isinstance(views, (list, tuple)) or not views:
        raise ValueError(f'{name}.reconstruct() must return a non-empty list '
                         f'of dicts, got {type(views).__name__}')
    expected = dict(mask=(b, 1, height, width), recon=(b, c, height, width))
    for i, view in enumerate(views):
        got = {key: tuple(getattr(view.get(key), 'shape', ()))
               for key in expected} if isinstance(view, dict) else view
        if got != expected:
            raise ValueError(f'{name}.reconstruct() view {i}: expected '
                             f'shapes {expected}, got {got}')
    return list(views)


def _seed_of(seed: Union[int, torch.Generator]) -> int:
    if isinstance(seed, torch.Generator):
        return int(torch.randint(0, 2**62, (1, ), generator=seed))
    return int(seed)


@torch.no_grad()
def reconstruct(model: torch.nn.Module, inputs: torch.Tensor,
                data_samples: Optional[Sequence] = None,
                seed: Union[int, torch.Generator] = 0,
                simmim_mask_cfg: Optional[dict] = None) -> List[View]:
    """Mask a batch as the model's method does and predict the hidden part.

    Upstream code draws its masks from the global random generator; it is
    seeded here and restored afterwards, so a seed gives the same picture
    and the caller's random stream is untouched. The model runs in eval mode
    (its mode is restored).

    Args:
        model (nn.Module): A pretraining model: with its own
            ``reconstruct(inputs)``, or mmpretrain ``MAE`` / ``EMAE`` /
            ``SimMIM``.
        inputs (Tensor): (B, C, H, W), the data preprocessor's output.
        data_samples (list, optional): SimMIM: samples carrying ``mask``
            (B, H / p, W / p) from ``SimMIMMaskGenerator``.
        seed (int | torch.Generator): Seed, or a generator to draw one
            from. Defaults to 0.
        simmim_mask_cfg (dict, optional): SimMIM without masks in
            ``data_samples``: ``SimMIMMaskGenerator`` arguments
            (``mask_patch_size``, ``mask_ratio``, ...) for :func:`simmim_mask`.

    Returns:
        list[dict]: One dict per masked view, with ``mask`` (B, 1, H, W),
        1 = hidden, 0 = visible, and ``recon`` (B, C, H, W), the prediction in
        the space of ``inputs``.

    Raises:
        TypeError: The model is of an unsupported class.
    """
    name = type(model).__name__
    own = callable(getattr(type(model), 'reconstruct', None))
    if not (own or isinstance(model, (MAE, SimMIM))):
        raise TypeError(f'cannot draw reconstructions of a {name}; supported:'
                        f' {", ".join(SUPPORTED)}')
    seed = _seed_of(seed)
    devices = [inputs.device.index or 0] if inputs.is_cuda else []
    training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            if own:
                return _check_views(model.reconstruct(inputs), inputs, name)
            if isinstance(model, MAE):
                return _mae_views(model, inputs)
            return _simmim_views(model, inputs, data_samples,
                                 simmim_mask_cfg or {},
                                 torch.Generator().manual_seed(seed))
    finally:
        model.train(training)


def paste(inputs: torch.Tensor, view: View) -> torch.Tensor:
    """The prediction in the hidden pixels, the input in the visible ones.

    Returns:
        Tensor: (B, C, H, W).
    """
    return torch.where(view['mask'].bool(), view['recon'], inputs)


def to_uint8(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
             bgr: bool = False) -> np.ndarray:
    """Normalised images -> (B, H, W, C) uint8 RGB (``bgr``: channels are
    flipped first)."""
    images = images.detach().float().cpu() * std.view(1, -1, 1, 1).cpu() + \
        mean.view(1, -1, 1, 1).cpu()
    if bgr:
        images = images.flip(1)
    return images.clamp(0, 255).round().to(torch.uint8).permute(
        0, 2, 3, 1).numpy()


def preprocessor_stats(preprocessor) -> Tuple[torch.Tensor, torch.Tensor,
                                              bool]:
    """Mean (C,), std (C,) and whether the normalised inputs are BGR.

    mmpretrain loads images as BGR and the preprocessor flips them when
    ``to_rgb`` / ``bgr_to_rgb`` is set; without it they stay BGR.
    """
    if getattr(preprocessor, '_enable_normalize', False):
        mean, std = preprocessor.mean.flatten(), preprocessor.std.flatten()
    else:
        mean, std = torch.zeros(3), torch.ones(3)
    return mean, std, not getattr(preprocessor, '_channel_conversion', False)


def column_names(num_views: int, with_pred: bool = False) -> List[str]:
    """original | per view: masked, recon (and pred)."""
    names = ['original']
    kinds = ('masked', 'recon', 'pred') if with_pred else ('masked', 'recon')
    for i in range(num_views):
        suffix = f' {i + 1}' if num_views > 1 else ''
        names += [kind + suffix for kind in kinds]
    return names


def render_grid(inputs: torch.Tensor, views: Sequence[View],
                mean: torch.Tensor, std: torch.Tensor, bgr: bool = False,
                with_pred: bool = False, min_tile: int = 96) -> np.ndarray:
    """Compose the picture: one row per image, columns of
    :func:`column_names` under a header naming them.

    Images are enlarged by an integer factor (nearest neighbour) until a
    tile is at least ``min_tile`` pixels; tiles are separated by ``GAP``
    white pixels.

    Args:
        inputs (Tensor): (B, C, H, W) normalised images.
        views (list[dict]): :func:`reconstruct` output.
        mean (Tensor): (C,) normalisation mean, 0-255 scale.
        std (Tensor): (C,) normalisation std.
        bgr (bool): The channels are in BGR order. Defaults to False.
        with_pred (bool): Add the raw prediction of every view.
            Defaults to False.
        min_tile (int): Smallest tile side in pixels. Defaults to 96.

    Returns:
        ndarray: (HEADER + B * (T_h + GAP) + GAP, n * (T_w + GAP) + GAP, 3)
        uint8 RGB, n columns, T = tile size.
    """
    columns = [to_uint8(inputs, mean, std, bgr)]
    for view in views:
        hidden = view['mask'].bool().permute(0, 2, 3, 1).cpu().numpy()
        masked = np.where(hidden, np.uint8(GREY), columns[0])
        columns += [masked, to_uint8(paste(inputs, view), mean, std, bgr)]
        if with_pred:
            columns.append(to_uint8(view['recon'], mean, std, bgr))
    b, height, width, _ = columns[0].shape
    scale = max(1, math.ceil(min_tile / max(height, width)))
    th, tw = height * scale, width * scale
    grid = np.full((HEADER + b * (th + GAP) + GAP,
                    len(columns) * (tw + GAP) + GAP, 3), 255, np.uint8)
    for j, column in enumerate(columns):
        big = column.repeat(scale, 1).repeat(scale, 2)
        x = GAP + j * (tw + GAP)
        for i in range(b):
            y = HEADER + GAP + i * (th + GAP)
            grid[y:y + th, x:x + tw] = big[i]
    image = Image.fromarray(grid)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    for j, name in enumerate(column_names(len(views), with_pred)):
        draw.text((GAP + j * (tw + GAP) + 2, 1), name, fill=(0, 0, 0),
                  font=font)
    return np.asarray(image)


def png_bytes(grid: np.ndarray) -> bytes:
    """Encode an (H, W, 3) uint8 array as PNG (deterministic bytes)."""
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format='PNG')
    return buffer.getvalue()


def reconstruction_png(model: torch.nn.Module, inputs: torch.Tensor,
                       data_samples: Optional[Sequence] = None,
                       seed: Union[int, torch.Generator] = 0,
                       simmim_mask_cfg: Optional[dict] = None,
                       with_pred: bool = False) -> bytes:
    """:func:`reconstruct` + :func:`render_grid` with the model's data
    preprocessor statistics, as PNG bytes."""
    views = reconstruct(model, inputs, data_samples, seed, simmim_mask_cfg)
    mean, std, bgr = preprocessor_stats(model.data_preprocessor)
    grid = render_grid(inputs, views, mean, std, bgr, with_pred)
    print_log(f'reconstruction: {inputs.shape[0]} images, {len(views)} '
              f'view(s) of {type(model).__name__}, picture {grid.shape[1]} x '
              f'{grid.shape[0]} px', logger='current')
    return png_bytes(grid)
