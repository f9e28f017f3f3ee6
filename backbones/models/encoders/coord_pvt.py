"""CoordPVT: the PVT of UM-MAE, positions taken at the tokens' true places.

Li et al., *Uniform Masking: Enabling MAE Pre-training for Pyramid-based
Vision Transformers with Locality* (arXiv 2205.10063; official code
implus/UM-MAE, ``models_mae_pvt.py``, ``models_pvt.py``, ``DET/pvt.py``,
``SEG/pvt.py``). One encoder serves UM-MAE pretraining, classification,
detection and segmentation.

The official PVT is PVT v1 (Wang et al. 2021) with two changes: the
spatial-reduction attention pools keys and values with an average pool of
``sr_ratio`` and a 1 x 1 conv (so the same weights work for any reduction:
pretraining on the half-size compacted map uses half the downstream
ratios, (4, 2, 1, 1) against (8, 4, 2, 1), and attends to the same number
of keys), and an absolute position table is added once, after the stride-4
patch embedding. Its coordinate awareness is that table: UM-MAE compacts
it together with the tokens, so every compacted token carries the position
of its true image place, as it will downstream on the dense grid.

A block (official order): optional ``downsample`` (2 x 2 stride-2 conv
opening stages 2-4, no norm), ``x + attn(norm1(x))``, ``x + mlp(norm2(x))``
with ``attn`` = softmax(q k^T / sqrt(d)) v over keys and values of the
average-pooled, 1 x 1-convolved, LayerNorm-ed map. Block norms keep the
official LayerNorm eps 1e-5, the output norms use 1e-6.

Sizes: the position table is stored for the pretraining grid
(``pretrain_size / 4``) and resized bicubically to other grids in the
forward pass (as the official DET/SEG backbones); a checkpoint whose table
has another square grid is resized when it is loaded. The average pool
rounds up (``ceil_mode``), so keys cover every token when a side is not a
multiple of ``sr_ratio`` (the official pool rounds down and drops the last
rows; on the multiples used in pretraining and fine-tuning both agree).

Official key -> ours::

    patch_embed.proj.*, pos_embed             -> identical
    blocks.N.{norm1,attn.q,attn.kv,attn.proj,attn.sr,attn.norm,norm2,
              mlp.fc1,mlp.fc2,downsample.proj}.* -> identical
    norm.* (pretraining, per token)           -> norm.* ('avg_featmap')
    fc_norm.* (fine-tuning)                   -> norm.* ('avg_featmap')
    head.* (fine-tuning)                      -> classifier head
    DET/SEG up{k}.0.* (LayerNorm)             -> norm{k-1}.* ('featmap')
    DET/SEG up{k}.1.* (Linear to the FPN)     -> neck (not backbone)
    vis_mask_token, decoder_*, mask_token     -> algorithm (not backbone)
"""
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.logging import MMLogger
from mmengine.model import BaseModule, ModuleList
from mmpretrain.models.utils import (build_2d_sincos_position_embedding,
                                     resize_pos_embed)
from mmpretrain.registry import MODELS
from torch import nn

from ..utils import resolve_arch
from .pyramid import PyramidEncoder

BLOCK_LN_EPS = 1e-5  # official PVTBlock and attention norms


class PatchConv(BaseModule):
    """``proj``: a k x k stride-k conv on (B, C, H, W) maps (official
    ``PatchEmbed`` and ``PatchMerge``, keys ``*.proj.*``)."""

    def __init__(self, in_channels: int, out_channels: int,
                 patch_size: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, patch_size,
                              patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, C', H / k, W / k) (sides rounded down)."""
        return self.proj(x)


class SRAttention(BaseModule):
    """Attention over average-pooled keys and values (official
    ``Attention`` of ``models_mae_pvt.py``).

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads.
        sr_ratio (int): Pooling of the key/value map (1 = none).
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 sr_ratio: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.sr_ratio = sr_ratio
        self.q = nn.Linear(embed_dims, embed_dims)
        self.kv = nn.Linear(embed_dims, embed_dims * 2)
        self.proj = nn.Linear(embed_dims, embed_dims)
        self.sr = nn.Conv2d(embed_dims, embed_dims, kernel_size=1)
        self.norm = nn.LayerNorm(embed_dims, eps=BLOCK_LN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, H, W, C) -> (B, H, W, C)."""
        B, H, W, C = x.shape
        heads = self.num_heads
        q = self.q(x).view(B, H * W, heads, -1).transpose(1, 2)
        y = x.permute(0, 3, 1, 2)
        if self.sr_ratio > 1:
            y = F.avg_pool2d(y, self.sr_ratio, ceil_mode=True)
        y = self.norm(self.sr(y).flatten(2).transpose(1, 2))
        k, v = self.kv(y).view(B, -1, 2, heads, C // heads).permute(
            2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(q, k, v)
        return self.proj(y.transpose(1, 2).reshape(B, H, W, C))


class PVTBlock(BaseModule):
    """PVT block (official ``PVTBlock``).

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads.
        sr_ratio (int): Key/value pooling of the attention.
        mlp_ratio (float): MLP hidden channels over C.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
        in_channels (int, optional): Channels of the previous stage: the
            block then opens with the stride-2 ``downsample`` conv.
    """

    def __init__(self, embed_dims: int, num_heads: int, sr_ratio: int,
                 mlp_ratio: float, drop_path_rate: float = 0.,
                 in_channels: Optional[int] = None) -> None:
        super().__init__()
        self.downsample = None if in_channels is None else PatchConv(
            in_channels, embed_dims, 2)
        self.norm1 = nn.LayerNorm(embed_dims, eps=BLOCK_LN_EPS)
        self.attn = SRAttention(embed_dims, num_heads, sr_ratio)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate \
            else nn.Identity()
        self.norm2 = nn.LayerNorm(embed_dims, eps=BLOCK_LN_EPS)
        hidden = int(embed_dims * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(embed_dims, hidden), act=nn.GELU(),
            fc2=nn.Linear(hidden, embed_dims)))

    def forward(self, x: torch.Tensor, pos: None = None
                ) -> Tuple[torch.Tensor, None]:
        """(B, H, W, C) tokens -> the same after the optional downsample
        and the block (``pos`` passes through: positions entered once)."""
        if self.downsample is not None:
            x = self.downsample(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        x = x + self.drop_path(self.attn(self.norm1(x)))
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, pos


@MODELS.register_module()
class CoordPVT(PyramidEncoder):
    """PVT of UM-MAE with a true-position table (UM-MAE encoder).

    Args:
        arch (str | dict): 'tiny', 'small', 'medium' or 'large' (PVT v1
            sizes; UM-MAE publishes 'small'), or a dict with
            ``embed_dims``, ``depths``, ``num_heads`` and ``mlp_ratios`` (4
            values each). Defaults to 'small'.
        pretrain_size (int): Image side of the position table's grid
            (``pretrain_size / 4`` tokens a side). Defaults to 256.
        sr_ratios (Sequence[int]): Key/value pooling per stage; (8, 4, 2,
            1) on dense images, (4, 2, 1, 1) on UM-MAE's half-size
            compacted map. Defaults to (8, 4, 2, 1).
        in_channels (int): Image channels. Defaults to 3.
        freeze_pos_embed (bool): Keep the position table fixed (the
            official pretraining's sin-cos table); downstream learns it.
            Defaults to False.
        out_type (str): See
            :class:`~backbones.models.encoders.pyramid.PyramidEncoder`.
            Defaults to 'featmap'.
        out_indices (Sequence[int]): Defaults to (0, 1, 2, 3).
        drop_path_rate (float): Stochastic depth, linear from 0 over all
            blocks. Defaults to 0.
        frozen_stages (int): Defaults to -1.
        with_cp (bool): Defaults to False.
        norm_cfg (dict): Config of the output norms (``norm``,
            ``norm{i}``). Defaults to LN with eps 1e-6 (official).
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """
    arch_zoo = {
        name: dict(embed_dims=[64, 128, 320, 512], depths=depths,
                   num_heads=[1, 2, 5, 8], mlp_ratios=[8, 8, 4, 4])
        for names, depths in ((('t', 'tiny'), [2, 2, 2, 2]),
                              (('s', 'small'), [3, 4, 6, 3]),
                              (('m', 'medium'), [3, 4, 18, 3]),
                              (('l', 'large'), [3, 8, 27, 3]))
        for name in names
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios')

    def __init__(self,
                 arch='small',
                 pretrain_size: int = 256,
                 sr_ratios: Sequence[int] = (8, 4, 2, 1),
                 in_channels: int = 3,
                 freeze_pos_embed: bool = False,
                 out_type: str = 'featmap',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None) -> None:
        settings = resolve_arch(arch, self.arch_zoo, self.arch_keys)
        bad = {k: v for k, v in settings.items() if len(v) != 4}
        if bad or len(sr_ratios) != 4 or min(sr_ratios) < 1:
            raise ValueError(f'arch values and sr_ratios need 4 values (one '
                             f'per stage, sr_ratios >= 1), got {settings} '
                             f'and {sr_ratios}')
        dims, depths = settings['embed_dims'], settings['depths']
        heads = settings['num_heads']
        if any(d % h for d, h in zip(dims, heads)):
            raise ValueError(f'embed_dims must be divisible by num_heads per '
                             f'stage, got {dims} and {heads}')
        if pretrain_size < 4 or pretrain_size % 4:
            raise ValueError(f'pretrain_size must be a positive multiple of '
                             f'4 (the patch size), got {pretrain_size}')
        super().__init__(dims, depths, out_type, out_indices, frozen_stages,
                         with_cp, init_cfg)
        self.arch_settings = settings
        self.sr_ratios = tuple(sr_ratios)
        self.pos_grid = pretrain_size // 4
        self.patch_embed = PatchConv(in_channels, dims[0], 4)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.pos_grid**2, dims[0]),
            requires_grad=not freeze_pos_embed)
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        blocks = []
        for stage, depth in enumerate(depths):
            for j in range(depth):
                blocks.append(PVTBlock(
                    dims[stage], heads[stage], self.sr_ratios[stage],
                    settings['mlp_ratios'][stage], dpr[len(blocks)],
                    in_channels=dims[stage - 1] if stage and not j else None))
        self.blocks = ModuleList(blocks)
        self._finish(norm_cfg)

    def init_weights(self) -> None:
        """As the official code: the sin-cos position table, xavier-uniform
        linears with zero bias, the rest as
        :meth:`~backbones.models.encoders.pyramid.PyramidEncoder.
        official_init`."""
        super().init_weights()
        if self.init_cfg is None:
            self.pos_embed.data.copy_(build_2d_sincos_position_embedding(
                self.pos_grid, self.embed_dims[0]))
            self.official_init(nn.init.xavier_uniform_)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Resize a checkpoint's square position table to ours."""
        key = prefix + 'pos_embed'
        table = state_dict.get(key)
        if table is not None and table.shape != self.pos_embed.shape \
                and table.dim() == 3 and table.shape[2] == \
                self.pos_embed.shape[2]:
            side = int(table.shape[1]**0.5)
            if side * side == table.shape[1]:
                state_dict[key] = resize_pos_embed(
                    table, (side, side), (self.pos_grid, ) * 2,
                    num_extra_tokens=0)
                MMLogger.get_current_instance().info(
                    f'Resized {key} from {side} x {side} to '
                    f'{self.pos_grid} x {self.pos_grid}')
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def position_map(self, h: int, w: int) -> torch.Tensor:
        """The position table on an (h, w) stage-1 grid: (1, C0, h, w),
        resized bicubically from the stored grid when it differs."""
        table = resize_pos_embed(self.pos_embed, (self.pos_grid, ) * 2,
                                 (h, w), num_extra_tokens=0)
        return table.transpose(1, 2).reshape(1, -1, h, w)

    def add_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, C0, h, w) dense tokens plus the table on their grid."""
        return tokens + self.position_map(*tokens.shape[2:])

    def forward_tokens(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Run the four stages on (B, C0, h, w) stage-1 tokens that carry
        their positions (:meth:`embed`, or UM-MAE's compacted map with the
        compacted table).

        Returns:
            list[Tensor]: the four stage outputs (B, C_i, h_i, w_i),
            ``h_{i+1} = floor(h_i / 2)``, before any norm.
        """
        if x.dim() != 4 or x.shape[1] != self.embed_dims[0]:
            raise ValueError(f'x must be (B, {self.embed_dims[0]}, h, w) '
                             f'tokens, got {tuple(x.shape)}')
        return self.run_blocks(x)
