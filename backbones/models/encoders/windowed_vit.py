"""A plain ViT for dense prediction (ViTDet-style), from an MAE/EMAE encoder.

:class:`WindowedViT` keeps every parameter name of mmpretrain's
``VisionTransformer`` (and so of ``MAEViT``): a pretraining checkpoint loads
with ``prefix='backbone.'`` unchanged. For detection and segmentation it

* drops the cls token and interpolates the absolute position embedding to
  the input grid (the checkpoint's 14 x 14 table becomes 64 x 64 at 1024 px),
* runs window attention (non-overlapping ``window_size`` windows, zero
  padding where the grid is not a multiple) in every block except
  ``global_attn_indexes``, where attention is global (Li et al., *Exploring
  Plain Vision Transformer Backbones for Object Detection*, 2022),
* optionally adds decomposed relative position biases (MViTv2/ViTDet style;
  new parameters, zero-initialised, named ``layers.N.rel_pos_{h,w}``),
* returns (B, C, H/16, W/16) maps of the ``out_indices`` blocks, and
* supports activation checkpointing (``with_cp``) for large encoders.
"""
import math
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmengine.model import ModuleList
from mmpretrain.models import VisionTransformer
from mmpretrain.models.backbones.vision_transformer import \
    TransformerEncoderLayer
from mmpretrain.models.utils import resize_pos_embed
from mmpretrain.registry import MODELS
from torch import nn


def window_partition(x: torch.Tensor, size: int
                     ) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """Cut a (B, H, W, C) map into (B * nW, size * size, C) windows.

    The map is zero-padded at the bottom/right to a multiple of ``size``.

    Returns:
        tuple: windows and the padded (H, W).
    """
    B, H, W, C = x.shape
    pad_h, pad_w = (-H) % size, (-W) % size
    x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x = x.view(B, Hp // size, size, Wp // size, size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).reshape(-1, size * size, C)
    return windows, (Hp, Wp)


def window_unpartition(windows: torch.Tensor, size: int,
                       padded_hw: Tuple[int, int],
                       hw: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition`: (B * nW, size², C) -> (B, H, W, C).
    """
    Hp, Wp = padded_hw
    C = windows.shape[-1]
    B = windows.shape[0] // ((Hp // size) * (Wp // size))
    x = windows.view(B, Hp // size, Wp // size, size, size, C)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(B, Hp, Wp, C)
    return x[:, :hw[0], :hw[1]].contiguous()


def relative_table(rel_pos: torch.Tensor, q_size: int,
                   k_size: int) -> torch.Tensor:
    """Look up (q_size, k_size, C) embeddings of the offsets ``q - k``.

    ``rel_pos`` (2 * L - 1, C) is linearly resized when it was made for
    another length, so the bias transfers across window and input sizes.
    """
    length = 2 * max(q_size, k_size) - 1
    if rel_pos.shape[0] != length:
        rel_pos = F.interpolate(rel_pos.t()[None], size=length,
                                mode='linear')[0].t()
    q = torch.arange(q_size, device=rel_pos.device)[:, None] * max(
        k_size / q_size, 1.0)
    k = torch.arange(k_size, device=rel_pos.device)[None, :] * max(
        q_size / k_size, 1.0)
    offset = (q - k) + (k_size - 1) * max(q_size / k_size, 1.0)
    return rel_pos[offset.long()]


def decomposed_rel_pos_bias(q: torch.Tensor, rel_pos_h: torch.Tensor,
                            rel_pos_w: torch.Tensor,
                            hw: Tuple[int, int]) -> torch.Tensor:
    """Attention bias from separate height and width offset embeddings.

    Args:
        q (Tensor): (B, heads, H * W, C) queries (before scaling).
        rel_pos_h (Tensor): (2 * H' - 1, C) height offsets.
        rel_pos_w (Tensor): (2 * W' - 1, C) width offsets.
        hw (tuple): (H, W) of the attended grid (queries = keys).

    Returns:
        Tensor: (B, heads, H * W, H * W) additive bias.
    """
    H, W = hw
    B, n, _, C = q.shape
    rq = q.reshape(B, n, H, W, C)
    bias_h = torch.einsum('bnhwc,hkc->bnhwk', rq,
                          relative_table(rel_pos_h, H, H))
    bias_w = torch.einsum('bnhwc,wkc->bnhwk', rq,
                          relative_table(rel_pos_w, W, W))
    bias = bias_h[..., :, None] + bias_w[..., None, :]
    return bias.reshape(B, n, H * W, H * W)


class WindowedEncoderLayer(TransformerEncoderLayer):
    """mmpretrain's encoder layer with window attention and rel-pos bias.

    Parameter names are those of ``TransformerEncoderLayer`` (plus
    ``rel_pos_h``/``rel_pos_w`` when ``rel_pos_size`` is given). The
    attention's drop path is applied after the windows are merged back, so
    it drops whole samples as in the global layers.

    Args:
        window_size (int): Window side in tokens; 0 means global attention.
        rel_pos_size (int, optional): Grid side the relative position tables
            are made for (the window size, or the token grid for a global
            layer); None disables them. Defaults to None.
        **kwargs: Arguments of ``TransformerEncoderLayer``.
    """

    def __init__(self, window_size: int = 0,
                 rel_pos_size: Optional[int] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.window_size = window_size
        self.rel_pos_h = self.rel_pos_w = None
        if rel_pos_size:
            head_dims = self.attn.head_dims
            self.rel_pos_h = nn.Parameter(
                torch.zeros(2 * rel_pos_size - 1, head_dims))
            self.rel_pos_w = nn.Parameter(
                torch.zeros(2 * rel_pos_size - 1, head_dims))

    def _attention(self, x: torch.Tensor, hw: Tuple[int, int],
                   rel_pos_bias: Optional[torch.Tensor] = None
                   ) -> torch.Tensor:
        attn = self.attn
        B, N, C = x.shape
        qkv = attn.qkv(x).reshape(B, N, 3, attn.num_heads, attn.head_dims)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        bias = None
        if self.rel_pos_h is not None:
            bias = decomposed_rel_pos_bias(q, self.rel_pos_h, self.rel_pos_w,
                                           hw).to(q.dtype)
        if rel_pos_bias is not None:
            shared = rel_pos_bias.to(q.dtype)[None]
            bias = shared if bias is None else bias + shared
        x = F.scaled_dot_product_attention(
            q, k, v, attn_mask=bias,
            dropout_p=attn.attn_drop if self.training else 0.)
        x = attn.proj(x.transpose(1, 2).reshape(B, N, C))
        return attn.gamma1(attn.proj_drop(x))

    def forward(self, x: torch.Tensor, hw: Optional[Tuple[int, int]],
                rel_pos_bias: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, H * W, C) tokens of an (H, W) grid -> same shape.

        ``hw=None`` means tokens without a grid (e.g. only the visible ones
        of a masked image): global attention, no relative position bias.
        ``rel_pos_bias`` (heads, n, n) is added to the attention logits of
        every window (n = window_size ** 2) or of the whole grid
        (n = H * W), e.g. a table shared by several layers.
        """
        B, N, C = x.shape
        if hw is None and (self.window_size or self.rel_pos_h is not None):
            raise ValueError('window attention and relative position biases '
                             'need the token grid (hw)')
        y = self.ln1(x)
        if self.window_size:
            y, padded = window_partition(y.view(B, *hw, C), self.window_size)
            y = self._attention(y, (self.window_size, self.window_size),
                                rel_pos_bias)
            y = window_unpartition(y, self.window_size, padded, hw)
            y = y.view(B, N, C)
        else:
            y = self._attention(y, hw, rel_pos_bias)
        x = x + self.attn.out_drop(y)
        return self.ffn(self.ln2(x), identity=x)


@MODELS.register_module()
class WindowedViT(VisionTransformer):
    """Plain ViT with window attention for detection and segmentation.

    Args:
        arch (str | dict): mmpretrain ViT arch ('base', 'large', ... or a
            dict). Defaults to 'base'.
        img_size (int): Input size the position table is resized to at
            load time (other sizes are resized on the fly). Defaults to 1024.
        patch_size (int): Patch size. Defaults to 16.
        window_size (int): Window side in tokens; 0 = global everywhere.
            Defaults to 14.
        global_attn_indexes (Sequence[int]): Blocks with global attention.
            Defaults to (2, 5, 8, 11) (ViTDet for ViT-B).
        use_rel_pos (bool): Add decomposed relative position biases.
            Defaults to False.
        out_indices (Sequence[int]): Blocks whose outputs are returned as
            (B, C, H/16, W/16) maps. Defaults to (-1,).
        drop_path_rate (float): Stochastic depth. Defaults to 0.
        final_norm (bool): Apply the final LayerNorm. Defaults to False.
        with_cp (bool): Activation checkpointing in training.
            Defaults to False.
        **kwargs: Other ``VisionTransformer`` arguments (``norm_cfg``,
            ``qkv_bias``, ``init_cfg``, ...).
    """

    def __init__(self,
                 arch='base',
                 img_size: int = 1024,
                 patch_size: int = 16,
                 window_size: int = 14,
                 global_attn_indexes: Sequence[int] = (2, 5, 8, 11),
                 use_rel_pos: bool = False,
                 out_indices: Sequence[int] = (-1, ),
                 drop_path_rate: float = 0.,
                 final_norm: bool = False,
                 with_cp: bool = False,
                 qkv_bias: bool = True,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 **kwargs) -> None:
        super().__init__(
            arch=arch, img_size=img_size, patch_size=patch_size,
            out_indices=list(out_indices), drop_path_rate=drop_path_rate,
            final_norm=final_norm, with_cls_token=False, out_type='featmap',
            qkv_bias=qkv_bias, norm_cfg=norm_cfg, **kwargs)
        bad = [i for i in global_attn_indexes
               if not 0 <= i < self.num_layers]
        if bad:
            raise ValueError(f'global_attn_indexes {bad} are outside the '
                             f'{self.num_layers} blocks of arch {arch!r}')
        if window_size < 0:
            raise ValueError(f'window_size must be >= 0, got {window_size}')
        self.window_size = window_size
        self.global_attn_indexes = tuple(global_attn_indexes)
        self.with_cp = with_cp
        grid = self.patch_resolution[0]
        dpr = np.linspace(0, drop_path_rate, self.num_layers)
        layers = []
        for i in range(self.num_layers):
            window = 0 if i in self.global_attn_indexes else window_size
            layers.append(WindowedEncoderLayer(
                window_size=window,
                rel_pos_size=(window or grid) if use_rel_pos else None,
                embed_dims=self.embed_dims,
                num_heads=self.arch_settings['num_heads'],
                feedforward_channels=self.arch_settings[
                    'feedforward_channels'],
                drop_path_rate=dpr[i], qkv_bias=qkv_bias,
                norm_cfg=norm_cfg))
        self.layers = ModuleList(layers)

    def _prepare_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Drop a checkpoint's cls-token position, then resize the grid."""
        name = prefix + 'pos_embed'
        if name in state_dict:
            length = state_dict[name].shape[1]
            if math.isqrt(length)**2 != length and \
                    math.isqrt(length - 1)**2 == length - 1:
                state_dict[name] = state_dict[name][:, 1:]
        super()._prepare_pos_embed(state_dict, prefix, *args, **kwargs)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W) images -> tuple of (B, C, H/p, W/p) maps."""
        B = x.shape[0]
        x, hw = self.patch_embed(x)
        x = x + resize_pos_embed(self.pos_embed, self.patch_resolution, hw,
                                 mode=self.interpolate_mode,
                                 num_extra_tokens=0)
        x = self.pre_norm(self.drop_after_pos(x))
        outs = []
        for i, layer in enumerate(self.layers):
            if self.with_cp and self.training:
                x = cp.checkpoint(layer, x, hw, use_reentrant=False)
            else:
                x = layer(x, hw)
            if i == len(self.layers) - 1 and self.final_norm:
                x = self.ln1(x)
            if i in self.out_indices:
                outs.append(x.transpose(1, 2).reshape(B, -1, *hw))
        return tuple(outs)
