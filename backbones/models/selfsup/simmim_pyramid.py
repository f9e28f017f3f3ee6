"""SimMIM on UM-MAE's pyramid encoders: UM-MAE's matched baseline.

Xie et al., *SimMIM: A Simple Framework for Masked Image Modeling*
(arXiv 2111.09886), as UM-MAE compares with it (implus/UM-MAE,
``models_simmim_swin.py``, ``models_simmim_pvt.py``): the encoder sees every
token, hidden ones replaced by a learnable ``mask_token``, on the same
:class:`~backbones.models.encoders.coord_swin.CoordSwin` or
:class:`~backbones.models.encoders.coord_pvt.CoordPVT` as UM-MAE, so the two
pretraining rows differ only in masking (the PVT adds its position table
after the replacement, so a mask token stands at its true position). The rest
is mmpretrain's ``SimMIM``: masks from its ``SimMIMMaskGenerator`` transform
(random patches at the token level), ``SimMIMLinearDecoder`` (1 x 1 conv +
pixel shuffle) and ``SimMIMHead`` (L1 on the hidden pixels).
"""
from typing import Optional, Tuple

import torch
from mmpretrain.registry import MODELS
from torch import nn

from ..encoders.coord_pvt import CoordPVT
from ..encoders.coord_swin import CoordSwin


class SimMIMEncoder:
    """SimMIM's token masking, mixed into a pyramid encoder built with
    ``out_type='avg_featmap'`` (for the final ``norm``, which pretraining
    applies per token)."""

    def _init_mask_token(self) -> None:
        self.mask_token = nn.Parameter(torch.zeros(1, self.embed_dims[0]))

    def init_weights(self) -> None:
        """The encoder's init; normal(0.02) mask token."""
        super().init_weights()
        nn.init.normal_(self.mask_token, std=.02)

    def forward(self, x: torch.Tensor,
                mask: Optional[torch.Tensor]) -> Tuple[torch.Tensor, ...]:
        """Encode all tokens, the hidden ones as the mask token.

        Args:
            x (Tensor): (B, 3, H, W) images.
            mask (Tensor, optional): (B, H/4, W/4) token mask, 1 = hidden;
                None runs the plain encoder.

        Returns:
            tuple: one (B, C3, H/32, W/32) stage-4 map after ``norm`` (the
            input of ``SimMIMLinearDecoder``); with ``mask=None`` the plain
            encoder's output.
        """
        if mask is None:
            return super().forward(x)
        tokens = self.patch_embed(x)
        if mask.shape != (x.shape[0], *tokens.shape[2:]):
            raise ValueError(f'mask must be (B, H/4, W/4) = '
                             f'{(x.shape[0], *tokens.shape[2:])}, got '
                             f'{tuple(mask.shape)}')
        w = mask.unsqueeze(1).to(tokens.dtype)
        tokens = tokens * (1 - w) + self.mask_token[..., None, None] * w
        latent = self.forward_tokens(self.add_positions(tokens))[3]
        return (self.norm_tokens(latent), )


@MODELS.register_module()
class SimMIMCoordSwin(SimMIMEncoder, CoordSwin):
    """CoordSwin that takes SimMIM's token mask.

    Args:
        arch (str | dict): CoordSwin arch. Defaults to 'tiny'.
        **kwargs: Other ``CoordSwin`` arguments.
    """

    def __init__(self, arch='tiny', **kwargs) -> None:
        super().__init__(arch=arch, out_type='avg_featmap', **kwargs)
        self._init_mask_token()


@MODELS.register_module()
class SimMIMCoordPVT(SimMIMEncoder, CoordPVT):
    """CoordPVT that takes SimMIM's token mask, with the fixed sin-cos
    position table and the dense key/value pooling (8, 4, 2, 1) of the
    official ``simmim_pvt_small_256``.

    Args:
        arch (str | dict): CoordPVT arch. Defaults to 'small'.
        **kwargs: Other ``CoordPVT`` arguments.
    """

    def __init__(self, arch='small', **kwargs) -> None:
        super().__init__(arch=arch, out_type='avg_featmap',
                         freeze_pos_embed=True, **kwargs)
        self._init_mask_token()
