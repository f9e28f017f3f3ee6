"""ViTDet's simple feature pyramid, as an mmdet neck.

mmdet 3.3.0 ships its ``SimpleFPN`` only in ``projects/ViTDet``, which the
package does not install. :class:`SimpleFeaturePyramid` builds strides
4, 8, 16, 32 from a single map: for a stride-16 ViT the scale factors
(4, 2, 1, 0.5) are two 2x transposed convolutions, one, identity and a 2x
max-pool; other patch sizes use other powers of two (a stride-4 smoke ViT
uses (1, 0.5, 0.25, 0.125)). Each level is projected to ``out_channels``
with a 1x1 and a 3x3 conv, each followed by a channels-first LayerNorm, and
levels past the scale factors (``num_outs`` > 4: the RPN's stride-64 level)
are stride-2 subsamplings of the last one.
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from mmpretrain.models.utils import LayerNorm2d
from torch import nn


def _upsample(channels: int, times: int) -> nn.Module:
    """``times`` transposed 2x2 convs, each halving the channels."""
    layers: List[nn.Module] = []
    for i in range(times):
        layers.append(nn.ConvTranspose2d(channels, channels // 2, 2, 2))
        channels //= 2
        if i < times - 1:
            layers += [LayerNorm2d(channels), nn.GELU()]
    return nn.Sequential(*layers)


@MODELS.register_module()
class SimpleFeaturePyramid(BaseModule):
    """Multi-scale maps from the last map of a plain ViT.

    Args:
        in_channels (int): Channels of the backbone map (stride 16).
        out_channels (int): Channels of every output level.
            Defaults to 256.
        scale_factors (Sequence[float]): Resampling of each level relative
            to the input: powers of two from 1/32 to 8. Defaults to
            (4, 2, 1, 0.5).
        num_outs (int): Levels returned; levels past ``len(scale_factors)``
            are stride-2 subsamplings of the last. Defaults to 5.
        init_cfg (dict, optional): Initialization config. Defaults to None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int = 256,
                 scale_factors: Sequence[float] = (4.0, 2.0, 1.0, 0.5),
                 num_outs: int = 5,
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        steps = [math.log2(s) if s > 0 else None for s in scale_factors]
        bad = [s for s, n in zip(scale_factors, steps)
               if n is None or n != int(n) or not -5 <= n <= 3]
        if bad:
            raise ValueError(f'scale_factors {bad} not supported: use powers '
                             'of two from 1/32 to 8')
        if num_outs < len(scale_factors):
            raise ValueError(f'num_outs ({num_outs}) < number of '
                             f'scale_factors ({len(scale_factors)})')
        self.num_outs = num_outs
        self.stages = nn.ModuleList()
        for ups in map(int, steps):
            if ups > 0:
                resample = _upsample(in_channels, ups)
                channels = in_channels // 2**ups
            elif ups == 0:
                resample, channels = nn.Identity(), in_channels
            else:
                resample = nn.MaxPool2d(2**-ups, 2**-ups)
                channels = in_channels
            self.stages.append(nn.Sequential(
                resample,
                nn.Conv2d(channels, out_channels, 1, bias=False),
                LayerNorm2d(out_channels),
                nn.Conv2d(out_channels, out_channels, 3, padding=1,
                          bias=False),
                LayerNorm2d(out_channels)))

    def forward(self, inputs: Tuple[torch.Tensor, ...]
                ) -> Tuple[torch.Tensor, ...]:
        """Last (B, C, H, W) input map -> ``num_outs`` maps, finest first."""
        x = inputs[-1]
        outs = [stage(x) for stage in self.stages]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)
