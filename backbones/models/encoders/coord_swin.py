"""CoordSwin: the coordinate-aware Swin Transformer of UM-MAE.

Li et al., *Uniform Masking: Enabling MAE Pre-training for Pyramid-based
Vision Transformers with Locality* (arXiv 2205.10063; official code
implus/UM-MAE, ``models_mae_swin.py``, ``models_swin.py``, ``DET/swin.py``,
``SEG/swin.py``). One encoder serves UM-MAE and SimMIM pretraining,
classification, detection and segmentation.

Unlike the standard Swin, the window-attention bias is not a table indexed
by grid offsets but a small MLP (``attn.posmlp``: 1 x 1 conv 2 ->
``posmlp_dim`` -> ReLU -> 1 x 1 conv -> heads) of the log-spaced relative
coordinates ``sign(d) * log(1 + |d|)`` of every query/key pair in a window,
with ``d = pos_key - pos_query`` per axis (the official sign).
Every token carries its true image coordinates ``pos`` (row, col) in units
of the stage-1 (stride-4) grid; patch merging keeps the top-left token's
coordinates halved (``pos[:, 0::2, 0::2] / 2``). Hence

* after UM-MAE's compaction, neighbours that are two patches apart in the
  image get the bias of tokens two patches apart, as they will downstream,
* a different window size or input size needs no new parameters.

A block (official order): optional ``downsample`` (the merge opening
stages 2-4: LayerNorm, then a 2 x 2 stride-2 conv), ``x + attn(norm1(x))``
with (shifted) window attention, ``x + mlp(norm2(x))``. Odd blocks of a stage
shift the windows by ``window // 2``; coordinates roll with the tokens and
the shift mask keeps wrapped regions apart. LayerNorm eps as the official
pretraining and fine-tuning: the blocks' ``norm1``/``norm2`` are built
without its ``norm_layer`` and so keep 1e-5, while the patch embedding, the
merges and the output norms use ``norm_cfg`` (1e-6); its ``DET``/``SEG``
backbones leave 1e-5 everywhere. Linear layers start xavier-uniform, as
the official pretraining and fine-tuning.

Sizes: a grid with a side <= ``window_size`` attends in one window of
``(min(H, window), min(W, window))`` tokens without shift (officially a
square window of the shorter side: the same on square grids). Otherwise
sides that are not multiples of the window are zero-padded (bottom/right)
and the padded keys masked out of the attention, so outputs do not depend
on the padding; images and odd grids before a merge are zero-padded as in
mmpretrain's Swin. Any input size works.

Official key -> ours (pretraining ``MaskedAutoencoderSwin``, fine-tuning
``Swin``, detection ``SwinDet``, segmentation ``Swin``)::

    patch_embed.proj.*, patch_embed.norm.*    -> identical
    blocks.N.{norm1,attn.qkv,attn.proj,attn.posmlp.0,attn.posmlp.2,
              norm2,mlp.fc1,mlp.fc2}.*        -> identical
    blocks.N.downsample.{norm,proj}.*         -> identical (N = first block
                                                 of stages 2-4)
    norm.* (pretraining, per token)           -> norm.* ('avg_featmap',
                                                 after pooling); for
                                                 'featmap' drop it or use it
                                                 as norm3.* (same place)
    fc_norm.* (fine-tuning)                   -> norm.* ('avg_featmap')
    head.* (fine-tuning)                      -> classifier head
    DET up{k}.0.* (LayerNorm)                 -> norm{k-1}.* ('featmap')
    DET up{k}.1.*, SEG fpn{k}.*               -> neck (not backbone)
    mask_token, vis_mask_token, decoder_*     -> algorithm (not backbone)
"""
from collections import OrderedDict
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule, ModuleList
from mmpretrain.models.utils import build_norm_layer
from mmpretrain.registry import MODELS
from torch import nn

from ...masking.geometry import grid_coords
from ..utils import resolve_arch
from .pyramid import PyramidEncoder

Window = Tuple[int, int]

BLOCK_LN_EPS = 1e-5  # official SwinBlock norm1/norm2: plain nn.LayerNorm


def window_partition(x: torch.Tensor, window: Window) -> torch.Tensor:
    """(B, H, W, C) with H, W multiples of ``window`` -> (B, nW, wh * ww, C).

    Windows are in raster order.
    """
    B, H, W, C = x.shape
    wh, ww = window
    x = x.view(B, H // wh, wh, W // ww, ww, C).transpose(2, 3)
    return x.reshape(B, (H // wh) * (W // ww), wh * ww, C)


def window_reverse(windows: torch.Tensor, window: Window,
                   hw: Tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`window_partition`: -> (B, H, W, C)."""
    B, _, _, C = windows.shape
    (wh, ww), (H, W) = window, hw
    x = windows.view(B, H // wh, W // ww, wh, ww, C).transpose(2, 3)
    return x.reshape(B, H, W, C)


def shift_mask(hw: Tuple[int, int], padded_hw: Tuple[int, int],
               window: Window, shift: int,
               device: Optional[torch.device] = None
               ) -> Optional[torch.Tensor]:
    """Additive attention mask of the (shifted, padded) windows.

    The (H, W) grid is zero-padded to ``padded_hw`` and then rolled by
    ``-shift`` on both axes. A query may attend to a key of its window when
    both come from the same side of the rolled boundary (Swin's regions) and
    the key is not padding; every token may attend to itself, so padded
    queries (whose outputs are dropped) never see an empty row.

    Returns:
        Tensor | None: (nW, 1, N, N) with 0 (allowed) and -inf, or None when
        there is neither shift nor padding.
    """
    (H, W), (Hp, Wp) = hw, padded_hw
    if not shift and (H, W) == (Hp, Wp):
        return None
    valid = torch.zeros(Hp, Wp, dtype=torch.bool, device=device)
    valid[:H, :W] = True
    valid = valid.roll((-shift, -shift), (0, 1))
    label = torch.zeros(Hp, Wp, dtype=torch.long, device=device)
    if shift:  # Swin's regions per axis: inner, last window, wrapped
        rows, cols = (torch.arange(n, device=device) for n in (Hp, Wp))
        rows = (rows >= Hp - window[0]).long() + (rows >= Hp - shift).long()
        cols = (cols >= Wp - window[1]).long() + (cols >= Wp - shift).long()
        label = rows[:, None] * 3 + cols[None, :]
    label = label.masked_fill(~valid, -1)
    label = window_partition(label[None, :, :, None], window)[0, ..., 0]
    allowed = (label[:, :, None] == label[:, None, :]) & \
        (label[:, None, :] >= 0)
    allowed |= torch.eye(label.shape[1], dtype=torch.bool, device=device)
    mask = torch.zeros(allowed.shape, device=device)
    return mask.masked_fill(~allowed, float('-inf'))[:, None]


class PatchEmbed(BaseModule):
    """4 x 4 stride-4 conv (``proj``) then LayerNorm (``norm``).

    Args:
        in_channels (int): Image channels.
        embed_dims (int): Stage-1 channels C0.
        norm_cfg (dict): Norm config. Defaults to LN with eps 1e-6.
    """

    def __init__(self, in_channels: int, embed_dims: int,
                 norm_cfg: dict = dict(type='LN', eps=1e-6)) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, 4, 4)
        self.norm = build_norm_layer(norm_cfg, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, C0, ceil(H / 4), ceil(W / 4)) tokens.

        Sides that are not multiples of 4 are zero-padded.
        """
        x = F.pad(x, (0, -x.shape[3] % 4, 0, -x.shape[2] % 4))
        x = self.norm(self.proj(x).permute(0, 2, 3, 1))
        return x.permute(0, 3, 1, 2)


class PatchMerge(BaseModule):
    """Official ``PatchMerge``: LayerNorm, then a 2 x 2 stride-2 conv.

    Args:
        in_channels (int): Channels of the finer stage.
        out_channels (int): Channels of the coarser stage.
        norm_cfg (dict): Norm config. Defaults to LN with eps 1e-6.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 norm_cfg: dict = dict(type='LN', eps=1e-6)) -> None:
        super().__init__()
        self.norm = build_norm_layer(norm_cfg, in_channels)
        self.proj = nn.Conv2d(in_channels, out_channels, 2, 2)

    def forward(self, x: torch.Tensor, pos: Optional[torch.Tensor]
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """Halve the grid (odd sides are zero-padded first).

        Args:
            x (Tensor): (B, H, W, C_in) tokens.
            pos (Tensor, optional): (B', H, W, 2) coordinates.

        Returns:
            tuple: (B, ceil(H / 2), ceil(W / 2), C_out) tokens and the
            coordinates of each 2 x 2 group's top-left token, halved.
        """
        x = self.norm(x)
        x = F.pad(x, (0, 0, 0, x.shape[2] % 2, 0, x.shape[1] % 2))
        x = self.proj(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
        if pos is not None:
            pos = pos[:, 0::2, 0::2] / 2
        return x, pos


class CoordWindowAttention(BaseModule):
    """Multi-head window attention with a coordinate-MLP bias.

    ``posmlp.2.bias`` adds one constant per head to every logit, which the
    softmax ignores: it never learns (kept for the official key layout).

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads.
        posmlp_dim (int): Hidden channels of the bias MLP. Defaults to 32.
    """

    def __init__(self, embed_dims: int, num_heads: int,
                 posmlp_dim: int = 32) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.posmlp = nn.Sequential(
            nn.Conv2d(2, posmlp_dim, 1), nn.ReLU(inplace=True),
            nn.Conv2d(posmlp_dim, num_heads, 1))
        self.qkv = nn.Linear(embed_dims, embed_dims * 3)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def mlp_bias(self, offsets: torch.Tensor) -> torch.Tensor:
        """(..., 2) offsets -> (..., heads): the MLP of the log-spaced
        offsets (1 x 1 convs applied as linear layers)."""
        logged = torch.sign(offsets) * torch.log1p(offsets.abs())
        hidden, out = self.posmlp[0], self.posmlp[2]
        y = F.relu(F.linear(logged, hidden.weight.flatten(1), hidden.bias))
        return F.linear(y, out.weight.flatten(1), out.bias)

    def coord_bias(self, rel: torch.Tensor) -> torch.Tensor:
        """Attention bias of relative coordinates.

        Coordinates sit on a lattice (integers on the stage-1 grid, halved
        at every merge), so the offsets take few values: the MLP runs once
        per lattice point of the offsets' range and the pairs look their
        bias up, so time and memory do not grow with batch x windows x N²
        times the MLP width. Offsets off any power-of-two lattice fall back
        to the MLP on every pair.

        Args:
            rel (Tensor): (..., N, N, 2) float32 offsets ``pos_key -
                pos_query`` (row, col).

        Returns:
            Tensor: (..., heads, N, N).
        """
        for k in range(8):
            steps = rel * 2**k
            if torch.equal(steps, steps.round()):
                break
        else:
            return self.mlp_bias(rel).movedim(-1, -3)
        steps = steps.long()
        radius = int(steps.abs().max())
        side = 2 * radius + 1
        if side * side >= steps[..., 0].numel():
            return self.mlp_bias(rel).movedim(-1, -3)
        axis = torch.arange(-radius, radius + 1, device=rel.device) / 2**k
        table = self.mlp_bias(torch.stack(
            torch.meshgrid(axis, axis, indexing='ij'), -1).view(-1, 2))
        index = (steps[..., 0] + radius) * side + steps[..., 1] + radius
        # index_select: its backward (index_add) is faster than indexing's
        bias = table.index_select(0, index.flatten())
        return bias.view(*index.shape, -1).movedim(-1, -3)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """(B, nW, N, C) window tokens and their (B or 1, nW * heads, N, N)
        additive bias and mask -> (B, nW, N, C)."""
        B, nW, N, C = x.shape
        heads = self.num_heads
        qkv = self.qkv(x).view(B, nW, N, 3, heads, C // heads)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).reshape(
            3, B, nW * heads, N, C // heads).unbind(0)
        x = F.scaled_dot_product_attention(q, k, v,
                                           attn_mask=bias.to(q.dtype))
        x = x.view(B, nW, heads, N, C // heads).transpose(2, 3)
        return self.proj(x.reshape(B, nW, N, C))


class CoordSwinBlock(BaseModule):
    """Swin block with the coordinate-MLP bias (official ``SwinBlock``).

    Args:
        embed_dims (int): Channels C.
        num_heads (int): Heads.
        window_size (int): Window side in tokens.
        shift (bool): Shifted windows (by ``window_size // 2``).
        mlp_ratio (float): MLP hidden channels over C. Defaults to 4.
        posmlp_dim (int): Hidden channels of the bias MLP. Defaults to 32.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
        downsample (nn.Module, optional): :class:`PatchMerge` run first.

    ``norm1`` and ``norm2`` are LayerNorms with the official eps 1e-5.
    """

    def __init__(self, embed_dims: int, num_heads: int, window_size: int,
                 shift: bool, mlp_ratio: float = 4., posmlp_dim: int = 32,
                 drop_path_rate: float = 0.,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.window_size = window_size
        self.shift_size = window_size // 2 if shift else 0
        self.downsample = downsample
        self.norm1 = nn.LayerNorm(embed_dims, eps=BLOCK_LN_EPS)
        self.attn = CoordWindowAttention(embed_dims, num_heads, posmlp_dim)
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate \
            else nn.Identity()
        self.norm2 = nn.LayerNorm(embed_dims, eps=BLOCK_LN_EPS)
        hidden = int(embed_dims * mlp_ratio)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Linear(embed_dims, hidden), act=nn.GELU(),
            fc2=nn.Linear(hidden, embed_dims)))

    def layout(self, H: int, W: int) -> Tuple[Window, int]:
        """Window and shift for an (H, W) grid.

        A grid with a side <= ``window_size`` gets one window of
        ``(min(H, window), min(W, window))`` and no shift.
        """
        ws = self.window_size
        if min(H, W) <= ws:
            return (min(H, ws), min(W, ws)), 0
        return (ws, ws), self.shift_size

    def attn_bias(self, pos: Optional[torch.Tensor], hw: Tuple[int, int],
                  padded_hw: Tuple[int, int], window: Window, shift: int,
                  device: torch.device) -> torch.Tensor:
        """Coordinate bias plus shift/padding mask of every window.

        ``pos=None`` means the dense grid: the bias then depends only on
        offsets inside a window, so one window's bias is computed and shared
        (exact, since masked pairs do not matter).

        Returns:
            Tensor: (B' , nW * heads, N, N), B' = 1 or ``pos``'s batch.
        """
        (H, W), (Hp, Wp) = hw, padded_hw
        nW = (Hp // window[0]) * (Wp // window[1])
        if pos is None:
            coords = grid_coords(1, window, device).permute(0, 2, 3, 1)
            coords = coords.reshape(1, 1, -1, 2)
        else:
            coords = F.pad(pos.float(), (0, 0, 0, Wp - W, 0, Hp - H))
            if shift:
                coords = coords.roll((-shift, -shift), (1, 2))
            coords = window_partition(coords, window)
        bias = self.attn.coord_bias(coords[:, :, None] - coords[:, :, :, None])
        mask = shift_mask(hw, padded_hw, window, shift, device)
        if mask is not None:
            bias = bias + mask
        N = bias.shape[-1]
        return bias.expand(-1, nW, -1, -1, -1).reshape(
            bias.shape[0], -1, N, N)

    def forward(self, x: torch.Tensor, pos: Optional[torch.Tensor]
                ) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(B, H, W, C) tokens and (B', H, W, 2) coordinates (or None for a
        dense grid) -> the same after the optional merge and the block."""
        if self.downsample is not None:
            x, pos = self.downsample(x, pos)
        B, H, W, C = x.shape
        window, shift = self.layout(H, W)
        Hp, Wp = H + -H % window[0], W + -W % window[1]
        y = F.pad(self.norm1(x), (0, 0, 0, Wp - W, 0, Hp - H))
        if shift:
            y = y.roll((-shift, -shift), (1, 2))
        bias = self.attn_bias(pos, (H, W), (Hp, Wp), window, shift,
                              x.device)
        y = self.attn(window_partition(y, window), bias)
        y = window_reverse(y, window, (Hp, Wp))
        if shift:
            y = y.roll((shift, shift), (1, 2))
        x = x + self.drop_path(y[:, :H, :W])
        x = x + self.drop_path(self.mlp(self.norm2(x)))
        return x, pos


@MODELS.register_module()
class CoordSwin(PyramidEncoder):
    """Coordinate-aware Swin Transformer (UM-MAE / SimMIM encoder).

    Args:
        arch (str | dict): 'tiny', 'small', 'base' or 'large', or a dict
            with ``embed_dims`` (int, stage-1 channels; stage i has
            ``embed_dims * 2**i``), ``depths`` and ``num_heads`` (4 ints
            each). Defaults to 'tiny'.
        in_channels (int): Image channels. Defaults to 3.
        window_size (int): Window side in tokens (8 in the official
            pretraining, 16 for fine-tuning and dense tasks). Defaults to 8.
        mlp_ratio (float): MLP hidden channels over C. Defaults to 4.
        posmlp_dim (int): Hidden channels of the bias MLP (64 in the
            official Swin-L 'pmd64' variant). Defaults to 32.
        out_type (str): 'featmap': a tuple of the ``out_indices`` stage
            maps, each through its own LayerNorm ``norm{i}``;
            'avg_featmap': one (B, C3) vector, the mean of the stage-4
            tokens through the final LayerNorm ``norm`` (the official
            fine-tuning's mean -> ``fc_norm``). Defaults to 'featmap'.
        out_indices (Sequence[int]): With 'featmap', stages among 0-3
            (negative counts from the end). Defaults to (0, 1, 2, 3).
        drop_path_rate (float): Stochastic depth, linear from 0 over all
            blocks. Defaults to 0.
        frozen_stages (int): -1 freezes nothing, 0 the patch embedding,
            k = 1-4 also stages 1..k (with their merges and ``norm{i}``);
            4 also ``norm``. Defaults to -1.
        with_cp (bool): Activation checkpointing of every block in
            training. Defaults to False.
        norm_cfg (dict): Norm of the patch embedding, the merges and the
            output norms (the blocks' norms keep eps 1e-5, as official).
            Defaults to LN with eps 1e-6.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """
    arch_zoo = {
        **dict.fromkeys(['t', 'tiny'], dict(
            embed_dims=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=96, depths=[2, 2, 18, 2], num_heads=[3, 6, 12, 24])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=128, depths=[2, 2, 18, 2], num_heads=[4, 8, 16, 32])),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48])),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads')

    def __init__(self,
                 arch='tiny',
                 in_channels: int = 3,
                 window_size: int = 8,
                 mlp_ratio: float = 4.,
                 posmlp_dim: int = 32,
                 out_type: str = 'featmap',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 drop_path_rate: float = 0.,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 norm_cfg: dict = dict(type='LN', eps=1e-6),
                 init_cfg: Optional[dict] = None) -> None:
        settings = self._arch(arch)
        depths, heads = settings['depths'], settings['num_heads']
        dims = [settings['embed_dims'] * 2**i for i in range(4)]
        super().__init__(dims, depths, out_type, out_indices, frozen_stages,
                         with_cp, init_cfg)
        self.arch_settings = settings
        if window_size < 1:
            raise ValueError(f'window_size must be >= 1, got {window_size}')
        self.window_size = window_size

        self.patch_embed = PatchEmbed(in_channels, dims[0], norm_cfg)
        dpr = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
        blocks = []
        for stage, depth in enumerate(depths):
            for j in range(depth):
                merge = PatchMerge(dims[stage - 1], dims[stage], norm_cfg) \
                    if stage and not j else None
                blocks.append(CoordSwinBlock(
                    dims[stage], heads[stage], window_size, shift=j % 2 == 1,
                    mlp_ratio=mlp_ratio, posmlp_dim=posmlp_dim,
                    drop_path_rate=dpr[len(blocks)], downsample=merge))
        self.blocks = ModuleList(blocks)
        self._finish(norm_cfg)

    @classmethod
    def _arch(cls, arch) -> dict:
        arch = resolve_arch(arch, cls.arch_zoo, cls.arch_keys)
        if len(arch['depths']) != 4 or len(arch['num_heads']) != 4:
            raise ValueError(f"arch['depths'] and arch['num_heads'] need 4 "
                             f'values (one per stage), got {arch}')
        bad = [i for i, h in enumerate(arch['num_heads'])
               if (arch['embed_dims'] * 2**i) % h]
        if bad:
            raise ValueError(f'stage channels embed_dims * 2**i must be '
                             f'divisible by num_heads[i]; not for stages '
                             f'{bad} of {arch}')
        return arch

    def init_weights(self) -> None:
        """As the official code: xavier-uniform linears with zero bias,
        the rest as
        :meth:`~backbones.models.encoders.pyramid.PyramidEncoder.
        official_init`."""
        super().init_weights()
        if self.init_cfg is None:
            self.official_init(nn.init.xavier_uniform_)

    def forward_tokens(self, x: torch.Tensor,
                       pos: Optional[torch.Tensor] = None
                       ) -> List[torch.Tensor]:
        """Run the four stages on embedded stage-1 tokens.

        Args:
            x (Tensor): (B, C0, h, w) tokens, e.g. ``patch_embed(images)``,
                a UM-MAE compacted map or a SimMIM map with mask tokens.
            pos (Tensor, optional): (B, h, w, 2) or (1, h, w, 2) true
                (row, col) coordinates of the tokens in stage-1 grid units
                (:func:`~backbones.masking.geometry.grid_coords`, channels
                last, for a dense map). None means the dense
                grid, computed cheaper (one window's bias is shared).

        Returns:
            list[Tensor]: the four stage outputs (B, C_i, h_i, w_i),
            ``h_{i+1} = ceil(h_i / 2)``, before any norm (channels-last in
            memory). The pretraining encoder's final norm (official
            ``norm``) is :meth:`norm_tokens`.
        """
        if x.dim() != 4 or x.shape[1] != self.embed_dims[0]:
            raise ValueError(f'x must be (B, {self.embed_dims[0]}, h, w) '
                             f'tokens, got {tuple(x.shape)}')
        B, _, h, w = x.shape
        if pos is not None and (pos.dim() != 4 or pos.shape[0] not in (1, B)
                                or pos.shape[1:] != (h, w, 2)):
            raise ValueError(f'pos must be ({B} or 1, {h}, {w}, 2) '
                             f'coordinates, got {tuple(pos.shape)}')
        return self.run_blocks(x, pos)
