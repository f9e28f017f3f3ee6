"""ConvMAE pretraining: block-wise masking, masked convolution, fusion.

Gao et al., *ConvMAE: Masked Convolution Meets Masked Autoencoders*
(arXiv 2205.03892; official code Alpha-VL/ConvMAE). On the
:class:`~backbones.models.encoders.convvit.ConvViT` encoder:

* **Block-wise masking** (:func:`~backbones.masking.blockwise.block_masks`,
  :func:`~backbones.masking.geometry.upsample_mask`): a random mask (ratio
  r = 0.75) is drawn on the stage-3 grid (14 x 14 at 224 px) and upsampled
  x2 and x4 for stages 2 and 1, so each hidden stage-3 token hides a 2 x 2
  block of stage-2 and a 4 x 4 block of stage-1 positions (one 16 x 16
  pixel patch).
* **Masked convolution**: stages 1-2 multiply their features by the visible
  mask before every depth-wise conv, so nothing from a hidden block reaches
  a visible one; stage 3 runs on the visible tokens only.
* **Multi-scale fusion**: stride-4 and stride-2 convs
  (``stage1_output_decode``, ``stage2_output_decode``) bring stages 1 and 2
  to stage-3 width; they are gathered at the visible positions and added to
  the stage-3 output, then LayerNorm'ed (``norm``).
* The decoder (:class:`~backbones.models.decoders.ConvMAEDecoder`) is
  MAE's without a cls token, the loss mmpretrain's ``MAEPretrainHead``
  (norm_pix MSE on the hidden 16 x 16 patches); the algorithm is
  mmpretrain's ``MAE`` with these parts.
"""
from typing import Optional, Tuple, Union

import torch
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmpretrain.registry import MODELS
from torch import nn

from ...masking.blockwise import block_masks
from ...masking.geometry import gather_tokens, upsample_mask
from ..encoders.convvit import ConvViT


@MODELS.register_module()
class ConvMAEViT(ConvViT):
    """ConvViT with ConvMAE's masking and multi-scale fusion.

    Parameter names are those of :class:`ConvViT` (with ``final_norm``)
    plus the two fusion convs, which a downstream ConvViT names as
    unexpected when it loads the checkpoint's ``backbone.``.

    Args:
        arch (str | dict): ConvViT arch. Defaults to 'base'.
        img_size (int): Pretraining input size. Defaults to 224.
        mask_ratio (float): Fraction of stage-3 tokens hidden.
            Defaults to 0.75.
        **kwargs: Other ``ConvViT`` arguments (``drop_path_rate``,
            ``with_cp``, ``init_cfg``).
    """

    def __init__(self, arch='base', img_size: int = 224,
                 mask_ratio: float = 0.75, **kwargs) -> None:
        super().__init__(arch=arch, img_size=img_size, out_type='featmap',
                         out_indices=(2, ), final_norm=True, **kwargs)
        if not 0 < mask_ratio < 1:
            raise ValueError(f'mask_ratio must be in (0, 1), got '
                             f'{mask_ratio}')
        if self.global_rel_pos_bias is not None or any(
                b.window_size or b.rel_pos_h is not None
                or b.rel_pos_table is not None for b in self.blocks3):
            raise ValueError('ConvMAEViT runs stage 3 on the visible tokens '
                             'only: window_size, use_rel_pos, '
                             'shared_rel_pos_bias and block_rel_pos_bias '
                             'must be off')
        self.mask_ratio = mask_ratio
        dims = self.embed_dims
        self.stage1_output_decode = nn.Conv2d(dims[0], dims[2], 4, 4)
        self.stage2_output_decode = nn.Conv2d(dims[1], dims[2], 2, 2)
        # fixed 2-D sin-cos table, as the official pretraining
        self.pos_embed.requires_grad = False

    def init_weights(self) -> None:
        """Sin-cos position table; Xavier for linears and the last embed."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        self.pos_embed.data.copy_(build_2d_sincos_position_embedding(
            self.patch_resolution, self.embed_dims[2]).float())
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
        w = self.patch_embed3.proj.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))

    def forward(self, x: torch.Tensor,
                mask: Optional[Union[bool, torch.Tensor]] = True
                ) -> Union[Tuple[torch.Tensor, ...],
                           Tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Masked encoding for pretraining.

        Args:
            x (Tensor): (B, 3, H, W) images, H and W multiples of 16.
            mask (bool | Tensor, optional): True draws a mask
                (:func:`~backbones.masking.blockwise.block_masks`); a
                (B, L) noise tensor replays one; None or False runs the
                plain ConvViT on all tokens.

        Returns:
            tuple: latent (B, n, C3) of the n visible tokens (fused and
            normalised), mask (B, L) with 1 = hidden, ids_restore (B, L);
            with ``mask=None`` the ConvViT's (normalised) stage-3 map, as a
            1-tuple.
        """
        if mask is None or mask is False:
            return super().forward(x)
        B, _, H, W = x.shape
        if H % 16 or W % 16:
            raise ValueError(f'ConvMAE needs input sides that are multiples '
                             f'of 16, got {(H, W)}')
        grid = (H // 16, W // 16)
        noise = mask if isinstance(mask, torch.Tensor) else None
        m = block_masks(B, grid, self.mask_ratio, noise=noise,
                        device=x.device)
        s1 = self.conv_stage(x, 1, 1 - upsample_mask(m['mask'], grid, 4))
        s2 = self.conv_stage(s1, 2, 1 - upsample_mask(m['mask'], grid, 2))
        x, _ = self.tokens(s2)
        x = gather_tokens(x, m['ids_keep'])
        for block in self.blocks3:
            x = self._run(block, x, None)  # no grid: global attention
        fused = [gather_tokens(conv(s).flatten(2).transpose(1, 2),
                               m['ids_keep'])
                 for conv, s in ((self.stage1_output_decode, s1),
                                 (self.stage2_output_decode, s2))]
        x = self.norm(x + fused[0] + fused[1])
        return x, m['mask'], m['ids_restore']
