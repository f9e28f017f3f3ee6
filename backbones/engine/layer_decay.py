"""Layer-wise lr decay for detectors and segmentors with a ViT backbone.

mmpretrain's ``LearningRateDecayOptimWrapperConstructor`` asks the *model*
for ``get_layer_depth``, which mmpretrain classifiers have and mmdet's
detectors and mmseg's segmentors do not. This subclass asks the model's
backbone instead (every mmpretrain ViT-family backbone has the method), so
the same decay rule serves classification, detection and segmentation.
Parameters outside the backbone (neck, heads) get the full learning rate.
"""
from functools import partial
from typing import Callable, List, Optional

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmpretrain.engine.optimizers import \
    LearningRateDecayOptimWrapperConstructor
from torch import nn


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class BackboneLayerDecayOptimWrapperConstructor(
        LearningRateDecayOptimWrapperConstructor):
    """``paramwise_cfg.layer_decay_rate`` by the backbone's layer depth.

    Args: as mmpretrain's ``LearningRateDecayOptimWrapperConstructor``.
    """

    def add_params(self, params: List[dict], module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        if get_layer_depth is None and not hasattr(module, 'get_layer_depth'):
            backbone = getattr(module, 'backbone', None)
            if not hasattr(backbone, 'get_layer_depth'):
                raise TypeError(
                    f'layer-wise lr decay needs {type(module).__name__} or '
                    f'its backbone ({type(backbone).__name__}) to have '
                    'get_layer_depth()')
            get_layer_depth = partial(backbone.get_layer_depth,
                                      prefix='backbone.')
        super().add_params(params, module, prefix, get_layer_depth, **kwargs)
