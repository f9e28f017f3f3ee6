"""ConvViT: the hybrid convolution-transformer encoder of ConvMAE.

Gao et al., *ConvMAE: Masked Convolution Meets Masked Autoencoders*
(arXiv 2205.03892; official code Alpha-VL/ConvMAE, renamed MCMAE).

Three stages (strides 4, 8, 16):

1. ``patch_embed1`` (4 x 4 stride-4 conv -> LayerNorm -> GELU) and
   ``blocks1``: convolution blocks,
2. ``patch_embed2`` (2 x 2 stride-2 conv, same form) and ``blocks2``,
3. ``patch_embed3`` (2 x 2 stride-2 conv), a linear ``patch_embed4``, an
   absolute position embedding (no cls token) and ``blocks3``: transformer
   blocks (mmpretrain's ``TransformerEncoderLayer``, here with optional
   window attention, relative position biases and layer scale for dense
   tasks).

A convolution block is a transformer block whose attention is a 5 x 5
depth-wise convolution between two 1 x 1 convolutions, with a 1 x 1-conv MLP:
``x + conv2(dw5x5(visible * conv1(LN(x))))`` then ``x + MLP(LN(x))``.
``visible`` is ConvMAE's masked convolution (1 on visible positions, 0 on
hidden ones; see :mod:`backbones.models.selfsup.convmae`); downstream it is
omitted.
LayerNorm eps is 1e-5 in stages 1-2 and the patch embeddings and 1e-6 in
stage 3, as in the official code (weights transfer unchanged).

Relative position biases of stage 3, new parameters either way:

* ``shared_rel_pos_bias=True``: ConvMAE's detector (Alpha-VL/ConvMAE
  ``DET/models/convmae.py`` L240-275, L515-520, L623-695): one learnable
  bias per head and relative offset (:class:`RelPosBiasTable`), one table
  shared by all windowed blocks and one by all global blocks,
  zero-initialised;
* ``block_rel_pos_bias=True``: ConvMAE's segmentor (``SEG/backbone/
  convmae.py`` L108-133, L356-360): one such table per block
  (``blocks3.N.rel_pos_table``) on the ``img_size / 16`` grid;
* ``use_rel_pos=True``: decomposed (MViTv2/ViTDet) biases, one pair of
  tables per block, as the plain-ViT detection protocol.

Downstream heads read:

* ``out_type='featmap'``: the maps of ``out_indices`` among 0, 1, 2 (the
  three stages, strides 4, 8, 16, channels C1, C2, C3) and 3 (stage 3
  max-pooled 2 x 2: stride 32, C3), as ConvMAE's detector and segmentor;
* ``out_type='avg_featmap'``: ``fc_norm`` of the mean of the stage-3 tokens,
  as ConvMAE's fine-tuning (the pretraining's final ``norm`` is dropped), or
  with ``final_norm=True`` the mean of the ``norm``-ed tokens, which keeps
  every pretrained key (linear probing and kNN).
"""
from collections import OrderedDict
from typing import Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint as cp
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule, ModuleList
from mmengine.model.weight_init import trunc_normal_
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import LayerNorm2d, resize_pos_embed
from mmpretrain.registry import MODELS
from torch import nn

from ..utils import resolve_arch
from .windowed_vit import WindowedEncoderLayer


class ConvPatchEmbed(BaseModule):
    """Non-overlapping ``stride`` x ``stride`` conv -> LayerNorm -> GELU.

    Args:
        in_channels (int): Input channels.
        embed_dims (int): Output channels.
        stride (int): Kernel size and stride.
    """

    def __init__(self, in_channels: int, embed_dims: int,
                 stride: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(in_channels, embed_dims, stride, stride)
        self.norm = LayerNorm2d(embed_dims, eps=1e-5)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, H, W) -> (B, C, H / stride, W / stride)."""
        return self.act(self.norm(self.proj(x)))


class ConvBlock(BaseModule):
    """Transformer block with a 5 x 5 depth-wise conv as its attention.

    Args:
        embed_dims (int): Channels C.
        mlp_ratio (float): Hidden channels of the 1 x 1-conv MLP over C.
            Defaults to 4.
        drop_path_rate (float): Stochastic depth. Defaults to 0.
    """

    def __init__(self, embed_dims: int, mlp_ratio: float = 4.,
                 drop_path_rate: float = 0.) -> None:
        super().__init__()
        hidden = int(embed_dims * mlp_ratio)
        self.norm1 = LayerNorm2d(embed_dims, eps=1e-5)
        self.conv1 = nn.Conv2d(embed_dims, embed_dims, 1)
        self.attn = nn.Conv2d(embed_dims, embed_dims, 5, padding=2,
                              groups=embed_dims)
        self.conv2 = nn.Conv2d(embed_dims, embed_dims, 1)
        self.norm2 = LayerNorm2d(embed_dims, eps=1e-5)
        self.mlp = nn.Sequential(OrderedDict(
            fc1=nn.Conv2d(embed_dims, hidden, 1), act=nn.GELU(),
            fc2=nn.Conv2d(hidden, embed_dims, 1)))
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate \
            else nn.Identity()

    def forward(self, x: torch.Tensor,
                visible: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(B, C, H, W) -> same shape.

        Args:
            x (Tensor): Feature map.
            visible (Tensor, optional): (B, 1, H, W), 1 = visible. Features
                are multiplied by it right before the depth-wise conv, so
                hidden positions contribute nothing to their neighbours.
        """
        y = self.conv1(self.norm1(x))
        if visible is not None:
            y = y * visible
        x = x + self.drop_path(self.conv2(self.attn(y)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


class RelPosBiasTable(BaseModule):
    """One learnable attention bias per head and relative offset.

    The table of ConvMAE's detector (BEiT style): row
    ``(dy + H - 1) * (2 * W - 1) + dx + W - 1`` holds the bias of a query
    ``dy`` rows and ``dx`` columns from its key on an H x W grid (official
    ``RelativePositionBias``, ``DET/models/convmae.py`` L240-275), zero at
    init. A smaller grid uses the rows of its offsets; a larger one a
    bilinear resize of the table. Unlike mmpretrain's BEiT
    ``RelativePositionBias`` no offset index is stored (at 1024 px that
    buffer would add 4096 x 4096 integers to every checkpoint).

    Args:
        size (tuple): (H, W) grid of the table.
        num_heads (int): Attention heads.
    """

    def __init__(self, size: Tuple[int, int], num_heads: int) -> None:
        super().__init__()
        self.size = tuple(size)
        H, W = self.size
        self.relative_position_bias_table = nn.Parameter(
            torch.zeros((2 * H - 1) * (2 * W - 1), num_heads))

    def forward(self, hw: Tuple[int, int]) -> torch.Tensor:
        """(heads, h * w, h * w) bias of the token pairs of an (h, w) grid
        (row-major tokens; entry [n, i, j] for query i and key j)."""
        h, w = hw
        H, W = self.size
        table = self.relative_position_bias_table
        if h > H or w > W:
            H, W = max(h, H), max(w, W)
            grid = table.t().reshape(1, -1, 2 * self.size[0] - 1,
                                     2 * self.size[1] - 1)
            table = F.interpolate(grid, size=(2 * H - 1, 2 * W - 1),
                                  mode='bilinear', align_corners=True)
            table = table.flatten(2)[0].t()
        rows = torch.arange(h, device=table.device).repeat_interleave(w)
        cols = torch.arange(w, device=table.device).repeat(h)
        index = (rows[:, None] - rows[None, :] + H - 1) * (2 * W - 1) \
            + cols[:, None] - cols[None, :] + W - 1
        return table[index].permute(2, 0, 1)


@MODELS.register_module()
class ConvViT(BaseBackbone):
    """ConvMAE's encoder as a backbone for classification and dense tasks.

    Args:
        arch (str | dict): 'small', 'base' or 'large', or a dict with
            ``embed_dims`` (3 ints), ``depths`` (3 ints), ``num_heads`` and
            ``mlp_ratios`` (3 floats). Defaults to 'base'.
        img_size (int): Input size the position table is made for; other
            sizes interpolate it. Defaults to 224.
        out_type (str): 'featmap' or 'avg_featmap' (module docstring).
            Defaults to 'featmap'.
        out_indices (Sequence[int]): With 'featmap', which of the levels
            0-3 to return. Defaults to (0, 1, 2, 3).
        window_size (int): Window side (tokens) of the stage-3 attention;
            0 = global everywhere. Defaults to 0.
        global_attn_indexes (Sequence[int]): Stage-3 blocks that stay global
            when ``window_size`` > 0. Defaults to ().
        use_rel_pos (bool): Decomposed relative position biases in stage 3
            (new, zero-initialised ``blocks3.N.rel_pos_{h,w}``).
            Defaults to False.
        shared_rel_pos_bias (bool): ConvMAE's detector's bias tables
            (module docstring): ``windowed_rel_pos_bias`` for the windowed
            blocks, ``global_rel_pos_bias`` (the ``img_size / 16`` grid) for
            the global ones, each built only when some block uses it.
            Excludes ``use_rel_pos``. Defaults to False.
        block_rel_pos_bias (bool): One :class:`RelPosBiasTable` per
            stage-3 block (``blocks3.N.rel_pos_table``, the ``img_size /
            16`` grid, or the window for windowed blocks), as ConvMAE's
            segmentor. Excludes the other two. Defaults to False.
        layer_scale_init_value (float): Layer scale of the stage-3 blocks'
            attention and MLP branches (``attn.gamma1``, ``ffn.gamma2``),
            initialised to this value; 0 = none. ConvMAE's segmentor uses 1
            (``SEG/backbone/convmae.py`` L190-202). Defaults to 0.
        final_norm (bool): LayerNorm ``norm`` on the stage-3 tokens (the
            pretraining encoder's final norm); without it 'avg_featmap'
            has a new ``fc_norm`` after pooling. Defaults to False.
        drop_path_rate (float): Stochastic depth, linear over all blocks of
            the three stages. Defaults to 0.
        frozen_stages (int): Freeze the first 0-3 stages (3 freezes the
            whole encoder, for linear probing). Defaults to 0.
        with_cp (bool): Activation checkpointing of every block in
            training. Defaults to False.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """
    arch_zoo = {
        # ConvMAE Table 8 scales: parameter counts of MAE-S/B/L encoders.
        **dict.fromkeys(['s', 'small'], dict(
            embed_dims=[128, 256, 384], depths=[2, 2, 11], num_heads=6,
            mlp_ratios=[4, 4, 4])),
        **dict.fromkeys(['b', 'base'], dict(
            embed_dims=[256, 384, 768], depths=[2, 2, 11], num_heads=12,
            mlp_ratios=[4, 4, 4])),
        **dict.fromkeys(['l', 'large'], dict(
            embed_dims=[384, 768, 1024], depths=[2, 2, 23], num_heads=16,
            mlp_ratios=[4, 4, 4])),
    }
    arch_keys = ('embed_dims', 'depths', 'num_heads', 'mlp_ratios')
    strides = (4, 2, 2)

    def __init__(self,
                 arch='base',
                 img_size: int = 224,
                 out_type: str = 'featmap',
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 window_size: int = 0,
                 global_attn_indexes: Sequence[int] = (),
                 use_rel_pos: bool = False,
                 shared_rel_pos_bias: bool = False,
                 block_rel_pos_bias: bool = False,
                 layer_scale_init_value: float = 0.,
                 final_norm: bool = False,
                 drop_path_rate: float = 0.,
                 frozen_stages: int = 0,
                 with_cp: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.arch_settings = self._arch(arch)
        dims = self.arch_settings['embed_dims']
        depths = self.arch_settings['depths']
        ratios = self.arch_settings['mlp_ratios']
        if out_type not in ('featmap', 'avg_featmap'):
            raise ValueError(f"out_type must be 'featmap' or 'avg_featmap', "
                             f'got {out_type!r}')
        bad = [i for i in out_indices if i not in range(4)]
        if bad:
            raise ValueError(f'out_indices {bad} are not levels 0-3 '
                             '(stages 1-3, stage 3 max-pooled)')
        bad = [i for i in global_attn_indexes if i not in range(depths[2])]
        if bad:
            raise ValueError(f'global_attn_indexes {bad} are outside the '
                             f'{depths[2]} stage-3 blocks')
        if window_size < 0 or frozen_stages not in range(4):
            raise ValueError(
                f'window_size must be >= 0 and frozen_stages in 0-3, got '
                f'{window_size} and {frozen_stages}')
        if img_size % 16:
            raise ValueError(f'img_size must be a multiple of 16 (the '
                             f'stage-3 stride), got {img_size}')
        if use_rel_pos + shared_rel_pos_bias + block_rel_pos_bias > 1:
            raise ValueError('use_rel_pos (per-block decomposed tables), '
                             'shared_rel_pos_bias (shared tables) and '
                             'block_rel_pos_bias (a table per block) exclude '
                             'each other')
        self.embed_dims = dims
        self.num_layers = depths[2]
        self.out_type = out_type
        self.out_indices = tuple(out_indices)
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.patch_resolution = (img_size // 16, img_size // 16)

        dpr = np.linspace(0, drop_path_rate, sum(depths)).tolist()
        in_ch = 3
        for i in range(2):
            setattr(self, f'patch_embed{i + 1}',
                    ConvPatchEmbed(in_ch, dims[i], self.strides[i]))
            start = sum(depths[:i])
            setattr(self, f'blocks{i + 1}', ModuleList([
                ConvBlock(dims[i], ratios[i], dpr[start + j])
                for j in range(depths[i])]))
            in_ch = dims[i]
        self.patch_embed3 = ConvPatchEmbed(dims[1], dims[2], self.strides[2])
        self.patch_embed4 = nn.Linear(dims[2], dims[2])
        self.pos_embed = nn.Parameter(
            torch.zeros(1, self.patch_resolution[0] ** 2, dims[2]))
        blocks3 = []
        for j in range(depths[2]):
            window = 0 if j in global_attn_indexes else window_size
            blocks3.append(WindowedEncoderLayer(
                window_size=window,
                rel_pos_size=(window or self.patch_resolution[0])
                if use_rel_pos else None,
                embed_dims=dims[2],
                num_heads=self.arch_settings['num_heads'],
                feedforward_channels=int(dims[2] * ratios[2]),
                drop_path_rate=dpr[depths[0] + depths[1] + j],
                layer_scale_init_value=layer_scale_init_value,
                qkv_bias=True,
                norm_cfg=dict(type='LN', eps=1e-6)))
        for block in blocks3:
            block.rel_pos_table = RelPosBiasTable(
                (block.window_size, ) * 2 if block.window_size else
                self.patch_resolution, self.arch_settings['num_heads']
            ) if block_rel_pos_bias else None
        self.blocks3 = ModuleList(blocks3)
        self.windowed_rel_pos_bias = self.global_rel_pos_bias = None
        if shared_rel_pos_bias:
            heads = self.arch_settings['num_heads']
            windows = {b.window_size for b in blocks3}
            if window_size and window_size in windows:
                self.windowed_rel_pos_bias = RelPosBiasTable(
                    (window_size, window_size), heads)
            if 0 in windows:
                self.global_rel_pos_bias = RelPosBiasTable(
                    self.patch_resolution, heads)
        self.final_norm = final_norm
        if final_norm:
            self.norm = nn.LayerNorm(dims[2], eps=1e-6)
        elif out_type == 'avg_featmap':
            self.fc_norm = nn.LayerNorm(dims[2], eps=1e-6)
        self._register_load_state_dict_pre_hook(self._resize_pos_embed)
        self._freeze_stages()

    @classmethod
    def _arch(cls, arch) -> dict:
        arch = resolve_arch(arch, cls.arch_zoo, cls.arch_keys)
        for key in ('embed_dims', 'depths', 'mlp_ratios'):
            if len(arch[key]) != 3:
                raise ValueError(f'arch[{key!r}] needs 3 values (one per '
                                 f'stage), got {arch[key]}')
        return arch

    def init_weights(self) -> None:
        """Truncated-normal linear layers and position table (timm ViT)."""
        super().init_weights()
        if self.init_cfg is not None:
            return
        trunc_normal_(self.pos_embed, std=.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=.02)
                nn.init.zeros_(m.bias)

    def _resize_pos_embed(self, state_dict, prefix, *args, **kwargs):
        """Interpolate a checkpoint's position table to this grid."""
        name = prefix + 'pos_embed'
        if name in state_dict and \
                state_dict[name].shape != self.pos_embed.shape:
            side = int(round(state_dict[name].shape[1] ** .5))
            state_dict[name] = resize_pos_embed(
                state_dict[name], (side, side), self.patch_resolution,
                mode='bicubic', num_extra_tokens=0)

    def _freeze_stages(self) -> None:
        names = {1: ['patch_embed1', 'blocks1'],
                 2: ['patch_embed2', 'blocks2'],
                 3: ['patch_embed3', 'patch_embed4', 'pos_embed', 'blocks3',
                     'windowed_rel_pos_bias', 'global_rel_pos_bias', 'norm',
                     'fc_norm']}
        for stage in range(1, self.frozen_stages + 1):
            for name in names[stage]:
                part = getattr(self, name, None)
                if isinstance(part, nn.Parameter):
                    part.requires_grad = False
                elif part is not None:
                    part.eval()
                    for p in part.parameters():
                        p.requires_grad = False

    def train(self, mode: bool = True):
        """Keep frozen stages in eval mode (no drop path in them)."""
        super().train(mode)
        self._freeze_stages()
        return self

    def _run(self, block: nn.Module, *args) -> torch.Tensor:
        if self.with_cp and self.training:
            return cp.checkpoint(block, *args, use_reentrant=False)
        return block(*args)

    def conv_stage(self, x: torch.Tensor, stage: int,
                   visible: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Patch embedding and blocks of convolution stage 1 or 2.

        Args:
            x (Tensor): (B, 3, H, W) images for stage 1, the stage-1 map
                for stage 2.
            stage (int): 1 or 2.
            visible (Tensor, optional): (B, 1, h, w) visible mask at this
                stage's resolution (masked convolution).

        Returns:
            Tensor: (B, C_stage, h, w).
        """
        x = getattr(self, f'patch_embed{stage}')(x)
        for block in getattr(self, f'blocks{stage}'):
            x = self._run(block, x, visible)
        return x

    def tokens(self, x: torch.Tensor) -> Tuple[torch.Tensor, tuple]:
        """Stage-3 embedding of the stage-2 map.

        Returns:
            tuple: (B, h * w, C3) tokens with position embedding, (h, w).
        """
        x = self.patch_embed3(x)
        hw = tuple(x.shape[2:])
        x = self.patch_embed4(x.flatten(2).transpose(1, 2))
        return x + resize_pos_embed(self.pos_embed, self.patch_resolution,
                                    hw, mode='bicubic',
                                    num_extra_tokens=0), hw

    def shared_biases(self, hw: Tuple[int, int]) -> dict:
        """Shared bias tables' (heads, n, n) biases for this forward.

        Returns:
            dict: True -> the windowed blocks' bias (n = window_size ** 2),
            False -> the global blocks' (n = h * w); None without a table.
        """
        ws = self.windowed_rel_pos_bias
        gl = self.global_rel_pos_bias
        return {True: None if ws is None else ws(ws.size),
                False: None if gl is None else gl(hw)}

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W) images, H and W multiples of 16.

        Returns:
            tuple: 'featmap': maps (B, C_i, H / s_i, W / s_i) of the
            ``out_indices`` levels (s = 4, 8, 16, 32); 'avg_featmap':
            one (B, C3) tensor.
        """
        if x.shape[2] % 16 or x.shape[3] % 16:
            raise ValueError(f'ConvViT needs input sides that are multiples '
                             f'of 16, got {tuple(x.shape[2:])}')
        s1 = self.conv_stage(x, 1)
        s2 = self.conv_stage(s1, 2)
        x, hw = self.tokens(s2)
        biases = self.shared_biases(hw)
        for block in self.blocks3:
            bias = biases[bool(block.window_size)]
            if block.rel_pos_table is not None:
                table = block.rel_pos_table
                bias = table(table.size if block.window_size else hw)
            x = self._run(block, x, hw, bias)
        if self.final_norm:
            x = self.norm(x)
        if self.out_type == 'avg_featmap':
            x = x.mean(dim=1)
            return (x if self.final_norm else self.fc_norm(x), )
        s3 = x.transpose(1, 2).reshape(x.shape[0], -1, *hw)
        levels = (s1, s2, s3, F.max_pool2d(s3, 2) if 3 in self.out_indices
                  else None)
        return tuple(levels[i] for i in self.out_indices)

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer depth for layer-wise lr decay, as ConvMAE's fine-tuning.

        Stages 1-2, the patch embeddings and the position table are depth 0,
        stage-3 block i is depth i + 1, anything else (``fc_norm``, heads)
        the last depth.

        Returns:
            tuple: (depth, number of depths = stage-3 blocks + 2).
        """
        num_layers = self.num_layers + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith('blocks3.'):
            return int(name.split('.')[1]) + 1, num_layers
        if name.startswith(('patch_embed', 'blocks1', 'blocks2',
                            'pos_embed')):
            return 0, num_layers
        return num_layers - 1, num_layers
