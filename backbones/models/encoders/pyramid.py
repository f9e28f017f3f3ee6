"""What UM-MAE's two pyramid encoders (CoordSwin, CoordPVT) share.

Both follow the official implus/UM-MAE layout: a stride-4 ``patch_embed``,
then one flat ``blocks`` list over four stages whose first block of stages
2-4 opens with a stride-2 ``downsample``, then a final ``norm``. So their
outputs, norms, frozen stages and layer-wise lr decay depths are the same,
and live here once.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import torch
import torch.utils.checkpoint as cp
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import build_norm_layer
from torch import nn


class PyramidEncoder(BaseBackbone):
    """Four-stage encoder with official UM-MAE key names.

    Subclasses build ``self.patch_embed`` (images to (B, C0, H/4, W/4)
    tokens) and ``self.blocks`` (each block maps ``(x, pos) -> (x, pos)``
    on (B, H, W, C) tokens), then call :meth:`_finish`; they define
    ``forward_tokens`` (stage-1 tokens to the four stage maps, through
    :meth:`run_blocks`), and an encoder with an absolute position table
    overrides :meth:`add_positions`.

    Args:
        embed_dims (Sequence[int]): Channels of the four stages.
        depths (Sequence[int]): Blocks of the four stages.
        out_type (str): 'featmap': a tuple of the ``out_indices`` stage
            maps, each through its own LayerNorm ``norm{i}``;
            'avg_featmap': one (B, C3) vector, the mean of the stage-4
            tokens through the final LayerNorm ``norm`` (the official
            fine-tuning's mean -> ``fc_norm``).
        out_indices (Sequence[int]): With 'featmap', stages among 0-3
            (negative counts from the end).
        frozen_stages (int): -1 freezes nothing, 0 the patch embedding (and
            a position table), k = 1-4 also stages 1..k (with their merges
            and ``norm{i}``); 4 also ``norm``.
        with_cp (bool): Activation checkpointing of every block in training.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self, embed_dims: Sequence[int], depths: Sequence[int],
                 out_type: str, out_indices: Sequence[int],
                 frozen_stages: int, with_cp: bool,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if out_type not in ('featmap', 'avg_featmap'):
            raise ValueError(f"out_type must be 'featmap' or 'avg_featmap', "
                             f'got {out_type!r}')
        bad = [i for i in out_indices if i not in range(-4, 4)]
        if bad or not out_indices:
            raise ValueError(f'out_indices must be a non-empty list of the '
                             f'stages 0-3 (or -4 to -1), got {out_indices}')
        if frozen_stages not in range(-1, 5):
            raise ValueError(f'frozen_stages must be in -1..4, got '
                             f'{frozen_stages}')
        self.embed_dims = list(embed_dims)
        self.depths = list(depths)
        self.out_type = out_type
        self.out_indices = tuple(i % 4 for i in out_indices)
        self.frozen_stages = frozen_stages
        self.with_cp = with_cp
        self.stage_ends = tuple(sum(depths[:i + 1]) - 1 for i in range(4))

    def _finish(self, norm_cfg: dict) -> None:
        """Add the output norms and freeze; call after building blocks."""
        if self.out_type == 'avg_featmap':
            self.norm = build_norm_layer(norm_cfg, self.embed_dims[3])
        else:
            for i in self.out_indices:
                self.add_module(f'norm{i}', build_norm_layer(
                    norm_cfg, self.embed_dims[i]))
        self._freeze_stages()

    def add_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """Absolute positions of a dense (B, C0, h, w) token map; none by
        default (the Swin's positions enter its attention bias)."""
        return tokens

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) images -> (B, C0, H/4, W/4) stage-1 tokens with
        their positions."""
        return self.add_positions(self.patch_embed(x))

    def official_init(self, linear_init: Callable) -> None:
        """The official initialisation: ``linear_init`` on linear weights,
        zero biases, LayerNorms ones/zeros, convs fan-out normal, then the
        patch embedding xavier-uniform as a linear layer."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                linear_init(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.LayerNorm):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out',
                                        nonlinearity='relu')
                nn.init.zeros_(m.bias)
        w = self.patch_embed.proj.weight
        nn.init.xavier_uniform_(w.data.view(w.shape[0], -1))

    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        parts = [self.patch_embed]
        parts += self.blocks[:sum(self.depths[:self.frozen_stages])]
        parts += [getattr(self, f'norm{i}', None)
                  for i in range(self.frozen_stages)]
        if self.frozen_stages == 4:
            parts.append(getattr(self, 'norm', None))
        for part in filter(None, parts):
            part.eval()
            for p in part.parameters():
                p.requires_grad = False
        if isinstance(getattr(self, 'pos_embed', None), nn.Parameter):
            self.pos_embed.requires_grad = False

    def train(self, mode: bool = True):
        """Keep frozen stages in eval mode (no drop path in them)."""
        super().train(mode)
        self._freeze_stages()
        return self

    def run_blocks(self, x: torch.Tensor, pos: Optional[torch.Tensor] = None
                   ) -> List[torch.Tensor]:
        """Run the four stages on (B, C0, h, w) stage-1 tokens.

        Args:
            x (Tensor): (B, C0, h, w) tokens.
            pos (Tensor, optional): What the blocks carry beside the tokens
                (CoordSwin: coordinates), or None.

        Returns:
            list[Tensor]: the four stage outputs (B, C_i, h_i, w_i) before
            any norm (channels-last in memory).
        """
        x = x.permute(0, 2, 3, 1)
        outs = []
        for i, block in enumerate(self.blocks):
            if self.with_cp and self.training:
                x, pos = cp.checkpoint(block, x, pos, use_reentrant=False)
            else:
                x, pos = block(x, pos)
            if i in self.stage_ends:
                outs.append(x.permute(0, 3, 1, 2))
        return outs

    def norm_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """The pretraining encoder's per-token final ``norm`` (an
        'avg_featmap' model's) on a (B, C3, h, w) map."""
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """(B, 3, H, W) images (any size).

        Returns:
            tuple: 'featmap': normalised maps (B, C_i, ~H / 4 / 2**i,
            ~W / 4 / 2**i) of the ``out_indices`` stages (strides 4, 8,
            16, 32); 'avg_featmap': one (B, C3) tensor.
        """
        feats = self.forward_tokens(self.embed(x))
        if self.out_type == 'avg_featmap':
            return (self.norm(feats[3].mean(dim=(2, 3))), )
        outs = []
        for i in self.out_indices:
            y = getattr(self, f'norm{i}')(feats[i].permute(0, 2, 3, 1))
            outs.append(y.permute(0, 3, 1, 2).contiguous())
        return tuple(outs)

    def get_layer_depth(self, param_name: str, prefix: str = ''):
        """Layer depth for layer-wise lr decay, as the official UM-MAE.

        ``patch_embed`` (and a ``pos_embed``) is depth 0, ``blocks.k``
        depth k + 1 (a stage's merge is part of its first block, so it
        decays with that block; mmpretrain's Swin puts the merge with the
        previous stage's last block instead), everything else (norms,
        heads) the last depth. With mmpretrain's scale
        ``decay ** (num - depth - 1)`` this gives the official
        ``util/lr_decay.py`` scales exactly.

        Returns:
            tuple: (depth, number of depths = blocks + 2).
        """
        num_layers = len(self.blocks) + 2
        if not param_name.startswith(prefix):
            return num_layers - 1, num_layers
        name = param_name[len(prefix):]
        if name.startswith('patch_embed.') or name == 'pos_embed':
            return 0, num_layers
        if name.startswith('blocks.'):
            return int(name.split('.')[1]) + 1, num_layers
        return num_layers - 1, num_layers
