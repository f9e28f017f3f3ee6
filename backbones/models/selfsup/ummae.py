"""UM-MAE pretraining on the coordinate-aware Swin and PVT.

Li et al., *Uniform Masking: Enabling MAE Pre-training for Pyramid-based
Vision Transformers with Locality* (arXiv 2205.10063; official code
implus/UM-MAE). On :class:`~backbones.models.encoders.coord_swin.CoordSwin`
(:class:`UMMAESwin`) or :class:`~backbones.models.encoders.coord_pvt.CoordPVT`
(:class:`UMMAEPVT`):

1. the image is embedded (stride-4 tokens) and uniformly masked on a grid of
   ``mask_patch_size`` patches (:func:`~backbones.masking.uniform.
   uniform_masks`): one visible patch per 2 x 2 cell;
2. the visible patches' tokens are compacted into a half-size map
   (:func:`~backbones.masking.uniform.compact`), which the encoder
   processes densely, together with where they really are: the Swin
   compacts their true image coordinates, from which its window attention
   bias sees the real (two-patches-apart) geometry; the PVT compacts its
   absolute position table;
3. secondary masking replaces 25% of the compacted cells by a learnable
   token (``vis_mask_token``; the Swin passes it through the patch
   embedding's norm, as the official code);
4. the decoder (:class:`~backbones.models.decoders.UMMAEDecoder`) expands
   every stage-4 token into the visible cells it covers (linear + pixel
   shuffle), puts each at a visible patch's slot (see below) among shared
   mask tokens, adds a fixed
   sin-cos table and predicts the pixels of every patch; mmpretrain's
   ``MAEPretrainHead`` takes the norm_pix MSE on the hidden patches. The
   algorithm (:class:`UMMAE`) is mmpretrain's ``MAE`` with these parts.

Decoder positions (``UMMAEDecoder(position_pairing=...)``): the official
decoder (implus/UM-MAE ``models_mae_swin.py`` L505-514, ``models_mae_pvt.py``
L364-373) adds ``decoder_pos_embed[~mask]``, the visible patches' positions
in image raster order, to the visible tokens, which leave the pixel shuffle
in cell order: the k-th token (cell k) gets the position of the k-th visible
patch in raster order, most often another patch's. 'official' (the default,
the published recipes) does that; 'per-patch' (a named variant) gives every
token its own patch's position. Hidden patches get their own positions
either way, so the loss sees the same targets.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
from mmpretrain.models.selfsup.mae import MAE
from mmpretrain.registry import MODELS
from torch import nn

from ...masking.geometry import grid_coords
from ...masking.uniform import (compact, secondary_masks, uncompact,
                                uniform_masks)
from ..decoders import STRIDE, patch_views
from ..encoders.coord_pvt import CoordPVT
from ..encoders.coord_swin import CoordSwin


class UniformMaskingEncoder:
    """UM-MAE's masking and encoding, shared by its pyramid encoders.

    Mixed into a :class:`~backbones.models.encoders.pyramid.PyramidEncoder`
    (built with ``out_type='avg_featmap'`` for the final ``norm``, which
    pretraining applies per token). The encoder supplies
    :meth:`secondary_token` and :meth:`encode_compact`: how the mask token
    enters, and how the compacted map learns where its tokens really are.
    """

    def _init_masking(self, mask_patch_size: int,
                      secondary_ratio: float) -> None:
        if mask_patch_size < 4 or STRIDE % mask_patch_size:
            raise ValueError(f'mask_patch_size must divide {STRIDE} and be '
                             f'>= 4, got {mask_patch_size}')
        if not 0 <= secondary_ratio < 1:
            raise ValueError(f'secondary_ratio must be in [0, 1), got '
                             f'{secondary_ratio}')
        self.mask_patch_size = mask_patch_size
        self.secondary_ratio = secondary_ratio
        self.vis_mask_token = nn.Parameter(
            torch.zeros(1, self.embed_dims[0]))

    def init_weights(self) -> None:
        """The encoder's init; normal(0.02) secondary mask token."""
        super().init_weights()
        nn.init.normal_(self.vis_mask_token, std=.02)

    def secondary_token(self) -> torch.Tensor:
        """(1, C0, 1, 1) token replacing secondary-masked cells."""
        raise NotImplementedError

    def encode_compact(self, tokens: torch.Tensor, choice: torch.Tensor,
                       grid: Tuple[int, int]) -> torch.Tensor:
        """Stage-4 map (B, C3, h4, w4) of a compacted (B, C0, h, w) map cut
        from a ``grid`` of stage-1 tokens by ``choice``."""
        raise NotImplementedError

    def encode(self, x: torch.Tensor, noise: Optional[torch.Tensor] = None
               ) -> Dict[str, torch.Tensor]:
        """Mask, compact and encode a batch.

        Args:
            x (Tensor): (B, 3, H, W) images, H and W multiples of 64 (an
                even masking grid whose compacted map the four stages
                halve exactly).
            noise (Tensor, optional): (B, h/2, w/2, 4) noise replaying a
                uniform mask (the secondary mask is drawn).

        Returns:
            dict: ``latent`` (B, C3, H/64, W/64) stage-4 map after
            ``norm``; ``mask`` (B, h * w), 1 = hidden by the uniform mask
            (h = H / mask_patch_size); ``choice`` (B, h/2, w/2), the cells'
            visible offsets; ``secondary`` (B, h * w), 1 = a visible patch
            the encoder saw as the mask token.
        """
        B, _, H, W = x.shape
        if H % (2 * STRIDE) or W % (2 * STRIDE):
            raise ValueError(f'UM-MAE needs input sides that are multiples '
                             f'of {2 * STRIDE}, got {(H, W)}')
        p = self.mask_patch_size
        drawn = uniform_masks(B, (H // p, W // p), noise=noise,
                              device=x.device)
        choice = drawn['choice']
        tokens = compact(self.patch_embed(x), choice)  # B C0 H/8 W/8
        cells = secondary_masks(B, choice.shape[1] * choice.shape[2],
                                self.secondary_ratio, device=x.device)
        hidden = cells.view(B, 1, *choice.shape[1:])
        s = p // 4  # tokens per patch side
        hidden_tokens = hidden.repeat_interleave(s, 2).repeat_interleave(
            s, 3)
        tokens = tokens * (1 - hidden_tokens) \
            + self.secondary_token() * hidden_tokens
        latent = self.encode_compact(tokens, choice, (H // 4, W // 4))
        secondary = uncompact(hidden, choice).flatten(1)
        return dict(latent=self.norm_tokens(latent), mask=drawn['mask'],
                    choice=choice, secondary=secondary)

    def forward(self, x: torch.Tensor,
                mask: Optional[Union[bool, torch.Tensor]] = True
                ) -> Union[Tuple[torch.Tensor, ...],
                           Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Encode the compacted visible patches (:meth:`encode`).

        Args:
            x (Tensor): (B, 3, H, W) images.
            mask (bool | Tensor, optional): True draws the masks; a
                (B, h/2, w/2, 4) noise tensor replays a uniform mask; None
                or False runs the plain encoder on all tokens.

        Returns:
            tuple: latent, mask and choice of :meth:`encode` (what the
            decoder and the loss need); with ``mask=None`` the plain
            encoder's output.
        """
        if mask is None or mask is False:
            return super().forward(x)
        out = self.encode(x, mask if torch.is_tensor(mask) else None)
        return out['latent'], out['mask'], out['choice']


@MODELS.register_module()
class UMMAESwin(UniformMaskingEncoder, CoordSwin):
    """CoordSwin encoder with UM-MAE's uniform and secondary masking.

    The compacted tokens carry their true image coordinates, from which
    the window attention computes its bias; the secondary mask token goes
    through the patch embedding's norm (as the official code).

    Args:
        arch (str | dict): CoordSwin arch. Defaults to 'tiny'.
        mask_patch_size (int): Side of the masking (and reconstruction)
            patches in pixels; must divide 32 and be >= 4. Defaults to 16.
        secondary_ratio (float): Fraction of compacted cells replaced by
            ``vis_mask_token``. Defaults to 0.25.
        **kwargs: Other ``CoordSwin`` arguments (``window_size``,
            ``drop_path_rate``, ``with_cp``, ...).
    """

    def __init__(self, arch='tiny', mask_patch_size: int = 16,
                 secondary_ratio: float = 0.25, **kwargs) -> None:
        super().__init__(arch=arch, out_type='avg_featmap', **kwargs)
        self._init_masking(mask_patch_size, secondary_ratio)

    def secondary_token(self) -> torch.Tensor:
        """``patch_embed.norm(vis_mask_token)`` as (1, C0, 1, 1)."""
        return self.patch_embed.norm(self.vis_mask_token)[..., None, None]

    def encode_compact(self, tokens: torch.Tensor, choice: torch.Tensor,
                       grid: Tuple[int, int]) -> torch.Tensor:
        """Stage 4 with the compacted true coordinates."""
        coords = compact(grid_coords(tokens.shape[0], grid, tokens.device),
                         choice)
        return self.forward_tokens(tokens, coords.permute(0, 2, 3, 1))[3]


@MODELS.register_module()
class UMMAEPVT(UniformMaskingEncoder, CoordPVT):
    """CoordPVT encoder with UM-MAE's uniform and secondary masking.

    The position table is compacted with the tokens and added after the
    secondary masking, so a masked cell is the mask token at its true
    position (official ``models_mae_pvt.py``); the table is the fixed
    sin-cos one.

    Args:
        arch (str | dict): CoordPVT arch. Defaults to 'small'.
        mask_patch_size (int): As :class:`UMMAESwin`. Defaults to 16.
        secondary_ratio (float): As :class:`UMMAESwin`. Defaults to 0.25.
        pretrain_size (int): Image side of the position table's grid.
            Defaults to 256.
        sr_ratios (Sequence[int]): Key/value pooling per stage on the
            half-size compacted map. Defaults to (4, 2, 1, 1).
        **kwargs: Other ``CoordPVT`` arguments.
    """

    def __init__(self, arch='small', mask_patch_size: int = 16,
                 secondary_ratio: float = 0.25, pretrain_size: int = 256,
                 sr_ratios: Sequence[int] = (4, 2, 1, 1), **kwargs) -> None:
        super().__init__(arch=arch, pretrain_size=pretrain_size,
                         sr_ratios=sr_ratios, freeze_pos_embed=True,
                         out_type='avg_featmap', **kwargs)
        self._init_masking(mask_patch_size, secondary_ratio)

    def secondary_token(self) -> torch.Tensor:
        """``vis_mask_token`` as (1, C0, 1, 1)."""
        return self.vis_mask_token[..., None, None]

    def encode_compact(self, tokens: torch.Tensor, choice: torch.Tensor,
                       grid: Tuple[int, int]) -> torch.Tensor:
        """Stage 4 with the compacted position table added."""
        table = self.position_map(*grid).expand(tokens.shape[0], -1, -1, -1)
        return self.forward_tokens(tokens + compact(table, choice))[3]


@MODELS.register_module()
class UMMAE(MAE):
    """mmpretrain's MAE with UM-MAE's encoder and decoder.

    Training is MAE's (``backbone -> neck(latent, choice) -> head``); the
    reconstruction picture also greys out the secondary-masked patches,
    which the encoder did not see either.
    """

    def reconstruct(self, inputs: torch.Tensor) -> List[Dict]:
        """One view: uniform + secondary mask and the prediction.

        Returns:
            list[dict]: ``mask`` (B, 1, H, W), 1 = hidden or secondary-
            masked; ``recon`` (B, 3, H, W) un-normalised predictions (see
            :func:`backbones.tools.reconstruction.reconstruct`).
        """
        out = self.backbone.encode(inputs)
        pred = self.neck(out['latent'], out['choice'])
        shown = (out['mask'] + out['secondary']).clamp(max=1)
        return patch_views(self.head, inputs, pred, shown)
