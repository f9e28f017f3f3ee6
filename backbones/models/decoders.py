"""MAE-style decoders for encoders without a cls token, and their pixels.

Both are mmpretrain's ``MAEPretrainDecoder`` (blocks, norm, prediction
layer, mask token, fixed sin-cos table) with what their encoders need:

* :class:`ConvMAEDecoder` (ConvMAE): the sin-cos table has ``num_patches``
  rows (no cls row); visible latents are put back among mask tokens by
  ``ids_restore``, as in MAE.
* :class:`UMMAEDecoder` (UM-MAE): expands every stage-4 token of the
  compacted map into the visible cells it covers (linear + pixel shuffle)
  and scatters them among the mask tokens; ``position_pairing`` chooses
  which position each gets (see :mod:`backbones.models.selfsup.ummae`).

:func:`patch_views` turns an MAE-style head's per-patch predictions back
into pixels (un-normalising norm_pix targets) for reconstruction pictures.
"""
from typing import Dict, List, Literal

import torch
from mmpretrain.models.necks import MAEPretrainDecoder
from mmpretrain.models.utils import build_2d_sincos_position_embedding
from mmpretrain.registry import MODELS
from torch import nn

from ..masking.geometry import gather_tokens, pixel_mask
from ..masking.uniform import visible_index

STRIDE = 32  # total stride of UM-MAE's encoders on the compacted map
POSITION_PAIRINGS = ('official', 'per-patch')

View = Dict[str, torch.Tensor]


@MODELS.register_module()
class ConvMAEDecoder(MAEPretrainDecoder):
    """MAE's decoder for an encoder without a cls token.

    Same parameters as ``MAEPretrainDecoder`` except that the fixed sin-cos
    ``decoder_pos_embed`` has ``num_patches`` rows (no cls row).

    Args:
        num_patches (int): L. Defaults to 196.
        **kwargs: ``MAEPretrainDecoder`` arguments.
    """

    def __init__(self, num_patches: int = 196, **kwargs) -> None:
        super().__init__(num_patches=num_patches, **kwargs)
        self.decoder_pos_embed = nn.Parameter(
            self.decoder_pos_embed.data[:, 1:].clone(), requires_grad=False)

    def init_weights(self) -> None:
        """Sin-cos table without a cls row; normal(0.02) mask token."""
        super(MAEPretrainDecoder, self).init_weights()
        side = int(round(self.num_patches ** .5))
        self.decoder_pos_embed.data.copy_(build_2d_sincos_position_embedding(
            side, self.decoder_pos_embed.shape[-1]).float())
        nn.init.normal_(self.mask_token, std=.02)

    def forward(self, x: torch.Tensor,
                ids_restore: torch.Tensor) -> torch.Tensor:
        """Visible latents (B, n, C) -> (B, L, p * p * 3) predictions."""
        x = self.decoder_embed(x)
        B, n, C = x.shape
        tokens = torch.cat(
            [x, self.mask_token.expand(B, ids_restore.shape[1] - n, C)], 1)
        x = gather_tokens(tokens, ids_restore) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))


@MODELS.register_module()
class UMMAEDecoder(ConvMAEDecoder):
    """MAE-style decoder that puts the compacted tokens among mask tokens.

    Args:
        in_channels (int): Stage-4 channels of the encoder (768 for
            Swin-T).
        num_patches (int): L = h * w masking patches. Defaults to 256.
        patch_size (int): Masking patch side in pixels. Defaults to 16.
        decoder_embed_dim (int): D. Defaults to 512.
        decoder_depth (int): Blocks. Defaults to 2 (Swin-T).
        decoder_num_heads (int): Heads. Defaults to 16.
        position_pairing (str): Where the visible tokens sit among the
            mask tokens, i.e. which position embedding each gets:
            'official' puts the k-th token (cell order) at the k-th visible
            patch in raster order, as the official decoder's
            ``decoder_pos_embed[~mask]``; 'per-patch' puts every token at
            its own patch. Defaults to 'official'.
        **kwargs: Other ``MAEPretrainDecoder`` arguments.
    """

    def __init__(self, in_channels: int = 768, num_patches: int = 256,
                 patch_size: int = 16, decoder_embed_dim: int = 512,
                 decoder_depth: int = 2, decoder_num_heads: int = 16,
                 position_pairing: Literal['official',
                                           'per-patch'] = 'official',
                 **kwargs) -> None:
        if position_pairing not in POSITION_PAIRINGS:
            raise ValueError(f'position_pairing must be one of '
                             f'{POSITION_PAIRINGS}, got {position_pairing!r}')
        super().__init__(num_patches=num_patches, patch_size=patch_size,
                         embed_dim=in_channels,
                         decoder_embed_dim=decoder_embed_dim,
                         decoder_depth=decoder_depth,
                         decoder_num_heads=decoder_num_heads, **kwargs)
        # one stage-4 token covers (32 / p)^2 visible cells
        self.upscale = STRIDE // patch_size
        self.decoder_embed = nn.Linear(
            in_channels, self.upscale**2 * decoder_embed_dim)
        self.expand = nn.PixelShuffle(self.upscale)
        self.position_pairing = position_pairing

    def init_weights(self) -> None:
        """As the official decoder (``_init_weights`` applied to the whole
        ``MaskedAutoencoderSwin``/``PVT``): xavier-uniform linears with zero
        bias, then the parent's position table and mask token."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor, choice: torch.Tensor) -> torch.Tensor:
        """Predict every patch.

        Args:
            x (Tensor): (B, C3, h4, w4) encoder output.
            choice (Tensor): (B, h/2, w/2) visible offsets of the cells.

        Returns:
            Tensor: (B, L, p * p * 3) predictions in row-major patch order
            (with 'official' pairing, those of the visible patches come
            from other visible patches' tokens; the loss ignores them).
        """
        x = self.decoder_embed(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = self.expand(x).flatten(2).transpose(1, 2)  # B cells D
        B, n, D = x.shape
        if n != choice.shape[1] * choice.shape[2]:
            raise ValueError(f'{n} decoder tokens for '
                             f'{tuple(choice.shape[1:])} cells')
        index = visible_index(choice)  # B cells: token k's own patch
        if self.position_pairing == 'official':
            # the k-th visible patch in raster order
            index = index.sort(dim=1).values
        tokens = self.mask_token.expand(B, self.num_patches, D).clone()
        # under autocast x is bf16 and the mask token fp32: x joins it in
        # fp32, as torch.cat promotes in MAE's and ConvMAE's decoders
        tokens.scatter_(1, index[..., None].expand(-1, -1, D),
                        x.to(tokens.dtype))
        x = tokens + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))


def patch_views(head, inputs: torch.Tensor, pred: torch.Tensor,
                mask: torch.Tensor) -> List[View]:
    """Views of an MAE-style head's per-patch predictions.

    Args:
        head: ``MAEPretrainHead`` (``patch_size``, ``norm_pix``,
            ``patchify``, ``unpatchify``).
        inputs (Tensor): (B, C, H, W).
        pred (Tensor): (R, L, p * p * C) predictions, R = K * B rows,
            part-major (K views).
        mask (Tensor): (R, L) patches shown hidden, 1 = hidden.

    Returns:
        list[dict]: K views; with norm_pix the predictions un-normalised.
    """
    b, _, height, width = inputs.shape
    k = pred.shape[0] // b
    if head.norm_pix:
        target = head.patchify(inputs)  # (B, L, p * p * C)
        mean = target.mean(dim=-1, keepdim=True).repeat(k, 1, 1)
        var = target.var(dim=-1, keepdim=True).repeat(k, 1, 1)
        pred = pred * (var + 1.e-6)**.5 + mean
    recon = head.unpatchify(pred)  # (R, C, H, W)
    p = head.patch_size
    pixels = pixel_mask(mask, (height // p, width // p), p)
    return [dict(mask=m, recon=r)
            for m, r in zip(pixels.split(b), recon.split(b))]
