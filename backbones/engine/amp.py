"""Mixed precision for the suite's configs on CPU and in mmdet under bf16.

**AmpOptimWrapper without an accelerator.** Every real config trains with
``AmpOptimWrapper(dtype='bfloat16')``, which MMEngine 0.10.7 refuses to
build unless CUDA, NPU, MLU or MUSA is present. When the machine has none
(``torch.cuda.is_available()`` is False and MMEngine's device is 'cpu'),
:func:`install` registers :class:`CPUAmpOptimWrapper` under the name
``AmpOptimWrapper`` in MMEngine's ``OPTIM_WRAPPERS``, where mmpretrain's,
mmdet's and mmseg's registries find it; on an accelerator it changes
nothing. Per ``dtype``, on CPU:

* ``'bfloat16'`` (every real config) and None (CPU autocast's default
  dtype, as ``mmengine.runner.amp.autocast`` picks on CPU): the forward
  runs under ``torch.autocast('cpu', dtype=torch.bfloat16)``, without loss
  scaling (bf16 has fp32's exponent range, nothing underflows);
* ``'float16'``: CPU autocast in float16 with a dynamic CPU ``GradScaler``
  configured by ``loss_scale`` as on a GPU (fp16 gradients need scaling);
* a dtype CPU autocast cannot run (``'float32'``, ``'float64'``, or
  float16 on a torch without it): plain fp32, and the log says so.

The wrapper logs once, when built, what it does. Checkpoints stay
interchangeable: without scaling, the state dict has no ``loss_scaler``
(an accelerator's wrapper then starts a fresh scaler); a ``loss_scaler``
loaded from an accelerator's checkpoint is kept and saved back unchanged,
so a run moving GPU -> CPU -> GPU keeps its scale.

**mmdet under bf16** (any device, so real GPU runs too): mmdet 3.3 builds
anchors in the scores' dtype and casts RoIs to the features' dtype, and
mmcv's NMS (fp32 boxes only) and RoIAlign (no bf16) kernels then stop
every Mask R-CNN config at its first iteration. The two mmdet methods that
hand boxes to those kernels, ``BaseDenseHead.predict_by_feat`` (the RPN's
proposals, in training too, and every dense head that inherits it) and
``SingleRoIExtractor.forward`` (box and mask RoIs), run in fp32 when their
inputs come in bf16 (and in float16 on CPU), as mmdet 2's ``force_fp32``
made them: :func:`fp32_dense_predictions`, :func:`fp32_roi_extraction`.
"""
import functools
import logging
import warnings
from contextlib import contextmanager
from typing import Callable, List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmengine.device import get_device
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmengine.registry import OPTIM_WRAPPERS
from torch import nn

DTYPES = ('float16', 'bfloat16', 'float32', 'float64')


def resolve_dtype(dtype: Union[str, torch.dtype, None]) -> torch.dtype:
    """The autocast dtype an ``AmpOptimWrapper`` asks for, on CPU.

    Args:
        dtype (str | torch.dtype, optional): One of :data:`DTYPES` or its
            torch dtype; None means CPU autocast's default, bfloat16.

    Returns:
        torch.dtype: The requested dtype (bfloat16 for None).
    """
    if dtype is None:
        return torch.bfloat16
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f'dtype must be one of {DTYPES}, got {dtype!r}')
        return getattr(torch, dtype)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f'dtype must be None, a str or a torch.dtype, got '
                        f'{type(dtype).__name__}')
    return dtype


def cpu_autocast_runs(dtype: torch.dtype) -> bool:
    """Whether ``torch.autocast('cpu', dtype=dtype)`` really casts (torch
    disables it, with a warning, for a dtype it does not support)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with torch.autocast('cpu', dtype=dtype):
            return torch.is_autocast_enabled('cpu')


def scaler_arguments(loss_scale: Union[str, float, dict]
                     ) -> Tuple[dict, Optional[float]]:
    """``GradScaler`` arguments and the static scale of ``loss_scale``, read
    as ``AmpOptimWrapper`` reads it: 'dynamic', a static scale, or the
    scaler's own arguments."""
    if loss_scale == 'dynamic':
        return {}, None
    if isinstance(loss_scale, float):
        return dict(init_scale=loss_scale), loss_scale
    if isinstance(loss_scale, dict):
        return dict(loss_scale), None
    raise TypeError(f"loss_scale must be 'dynamic', a float or a dict, got "
                    f'{loss_scale!r}')


class CPUAmpOptimWrapper(AmpOptimWrapper):
    """MMEngine's ``AmpOptimWrapper`` on a machine without an accelerator.

    Registered as ``AmpOptimWrapper`` by :func:`install` on such a machine;
    what each ``dtype`` does is in the module docstring. ``backward`` and
    ``step`` are AmpOptimWrapper's: without scaling the scaler is a
    disabled ``GradScaler`` and passes the loss and the step through.

    Args:
        loss_scale (str | float | dict): Used for float16 only, as
            AmpOptimWrapper's. Defaults to 'dynamic'.
        dtype (str | torch.dtype, optional): Requested autocast dtype.
            Defaults to None.
        use_fsdp (bool): Must be False (FSDP needs an accelerator).
            Defaults to False.
        **kwargs: ``OptimWrapper`` arguments (optimizer, clip_grad, ...).
    """

    def __init__(self, loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Union[str, torch.dtype, None] = None,
                 use_fsdp: bool = False, **kwargs) -> None:
        if use_fsdp:
            raise ValueError('AmpOptimWrapper(use_fsdp=True) needs an '
                             'accelerator; this machine has none')
        # AmpOptimWrapper.__init__ refuses a machine without an accelerator
        OptimWrapper.__init__(self, **kwargs)
        requested = resolve_dtype(dtype)
        scaler_args, self._scale_update_param = scaler_arguments(loss_scale)
        self.cast_dtype = requested if cpu_autocast_runs(requested) else None
        scaling = self.cast_dtype == torch.float16
        if not scaling:
            scaler_args, self._scale_update_param = {}, None
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=scaling,
                                                **scaler_args)
        # an accelerator's loss_scaler state, kept to be saved back
        self._kept_scaler_state: Optional[dict] = None
        if self.cast_dtype is None:
            print_log(f'AmpOptimWrapper on CPU: CPU autocast cannot run '
                      f'{requested}, falling back to float32 (no autocast, '
                      'no loss scaling)', logger='current',
                      level=logging.WARNING)
        else:
            scale = ('loss scaling by a CPU GradScaler' if scaling else
                     'no loss scaling (bfloat16 needs none)')
            print_log(f"AmpOptimWrapper on CPU: forward under torch.autocast("
                      f"'cpu', dtype={requested}), {scale}",
                      logger='current')

    @contextmanager
    def optim_context(self, model: nn.Module):
        """OptimWrapper's context (gradient accumulation) with CPU autocast
        in :attr:`cast_dtype` (none for the float32 fallback)."""
        with OptimWrapper.optim_context(self, model), torch.autocast(
                'cpu', dtype=self.cast_dtype,
                enabled=self.cast_dtype is not None, cache_enabled=False):
            yield

    def state_dict(self) -> dict:
        """The optimizer's state, with ``loss_scaler`` when this wrapper
        scales or one was loaded from an accelerator's checkpoint."""
        state = OptimWrapper.state_dict(self)
        if self.loss_scaler.is_enabled():
            state['loss_scaler'] = self.loss_scaler.state_dict()
        elif self._kept_scaler_state is not None:
            state['loss_scaler'] = self._kept_scaler_state
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state saved on CPU or on an accelerator.

        Without scaling, a ``loss_scaler`` entry is not used but kept for
        :meth:`state_dict`.
        """
        if 'loss_scaler' in state_dict and not self.loss_scaler.is_enabled():
            state_dict = dict(state_dict)
            self._kept_scaler_state = state_dict.pop('loss_scaler')
            print_log('AmpOptimWrapper on CPU: the loaded loss_scaler state '
                      'is kept for an accelerator, not used here',
                      logger='current')
        super().load_state_dict(state_dict)


def kernel_lacks(x: torch.Tensor) -> bool:
    """Whether mmcv's NMS and RoIAlign kernels cannot take ``x``'s dtype
    on its device: bfloat16 anywhere, float16 on CPU (NMS). float16 on an
    accelerator is mmdet's own tested AMP path and left alone."""
    return x.dtype == torch.bfloat16 or (x.dtype == torch.float16
                                         and x.device.type == 'cpu')


def _fp32(tensors: Optional[Sequence[Optional[torch.Tensor]]]):
    """``tensors`` (a sequence, possibly None or holding None) in fp32."""
    if tensors is None:
        return None
    return [None if t is None else t.float() for t in tensors]


def fp32_dense_predictions(predict_by_feat: Callable) -> Callable:
    """Run a dense head's ``predict_by_feat`` in fp32 when its outputs come
    in a dtype mmcv's kernels lack (:func:`kernel_lacks`).

    mmdet 3.3 builds the anchors in the dtype of the classification scores
    (``grid_priors(..., dtype=cls_scores[0].dtype)``), so under bf16
    autocast every proposal box is bf16 (a 4 px grid beyond 512 px) and
    mmcv's NMS, which reads fp32 boxes only, stops the RPN at the first
    training iteration. As mmdet 2's ``force_fp32`` did, the head's raw
    outputs are cast to fp32 and post-processed without autocast: anchors,
    scores, boxes and NMS in fp32.

    Args:
        predict_by_feat (Callable): The method, taking ``cls_scores``,
            ``bbox_preds`` (lists of (B, A * C, H, W) / (B, A * 4, H, W)
            maps per level) and optional ``score_factors``.

    Returns:
        Callable: The method with the fp32 path.
    """
    @functools.wraps(predict_by_feat)
    def wrapper(self, cls_scores: List[torch.Tensor],
                bbox_preds: List[torch.Tensor],
                score_factors: Optional[List[torch.Tensor]] = None,
                *args, **kwargs):
        if not kernel_lacks(cls_scores[0]):
            return predict_by_feat(self, cls_scores, bbox_preds,
                                   score_factors, *args, **kwargs)
        with torch.autocast(cls_scores[0].device.type, enabled=False):
            return predict_by_feat(self, _fp32(cls_scores),
                                   _fp32(bbox_preds), _fp32(score_factors),
                                   *args, **kwargs)

    wrapper.mimb_fp32 = True
    return wrapper


def fp32_roi_extraction(forward: Callable) -> Callable:
    """Run an RoI extractor's ``forward`` on fp32 features when they come in
    a dtype mmcv's kernels lack (:func:`kernel_lacks`).

    mmdet 3.3's ``SingleRoIExtractor`` casts the RoIs to the features'
    dtype (bf16 boxes lose their sub-4-px positions beyond 512 px) and
    mmcv's RoIAlign has no bf16 kernel. As mmdet 2's ``force_fp32(...,
    out_fp16=True)`` did, the features and RoIs go in as fp32 and the RoI
    features come back in the features' dtype.

    Args:
        forward (Callable): The method, taking ``feats`` ((B, C, H, W) maps
            per level) and ``rois`` ((n, 5): batch index, x1, y1, x2, y2).

    Returns:
        Callable: The method with the fp32 path; it returns (n, C, h, w)
        RoI features.
    """
    @functools.wraps(forward)
    def wrapper(self, feats: Tuple[torch.Tensor], rois: torch.Tensor,
                *args, **kwargs) -> torch.Tensor:
        dtype = feats[0].dtype
        if not kernel_lacks(feats[0]):
            return forward(self, feats, rois, *args, **kwargs)
        with torch.autocast(feats[0].device.type, enabled=False):
            out = forward(self, tuple(_fp32(feats)), rois.float(), *args,
                          **kwargs)
        return out.to(dtype)

    wrapper.mimb_fp32 = True
    return wrapper


def has_accelerator() -> bool:
    """Whether MMEngine's own ``AmpOptimWrapper`` runs here (a CUDA device,
    or an NPU, MLU or MUSA that MMEngine found)."""
    return torch.cuda.is_available() or get_device() != 'cpu'


def install() -> None:
    """Apply the fixes of this module; idempotent.

    On every device, mmdet's dense-head post-processing and RoI extraction
    get their fp32 fixes (:func:`fp32_dense_predictions`,
    :func:`fp32_roi_extraction`). On a machine without an accelerator,
    ``AmpOptimWrapper`` becomes :class:`CPUAmpOptimWrapper`; elsewhere the
    registry is left alone.
    """
    fixes = ((BaseDenseHead, 'predict_by_feat', fp32_dense_predictions),
             (SingleRoIExtractor, 'forward', fp32_roi_extraction))
    for cls, name, fix in fixes:
        method = getattr(cls, name)
        if not getattr(method, 'mimb_fp32', False):
            setattr(cls, name, fix(method))
    if not has_accelerator():
        OPTIM_WRAPPERS.register_module(name='AmpOptimWrapper', force=True,
                                       module=CPUAmpOptimWrapper)
