"""bf16 AMP on CPU (backbones/engine/amp.py): MMEngine's registered
``AmpOptimWrapper`` with ``dtype='bfloat16'`` trains one step of every
pretraining method and of every dense family's Mask R-CNN and UperNet
smoke config under CPU autocast; the wrapper is a no-op where CUDA is, its
state dicts move between CPU and GPU, and it says what it does."""
import glob
import logging
import math
import os
import tempfile

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import AmpOptimWrapper, build_optim_wrapper
from mmengine.optim.optimizer import amp_optimizer_wrapper
from mmengine.registry import OPTIM_WRAPPERS, DefaultScope
from mmengine.runner import Runner
from torch import nn

from backbones.engine import amp
from conftest import CONFIGS, build_model

PRETRAIN = {
    'mae': 'mae/mae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py',
    'emae': 'emae/emae_vit-tiny-p4_1xb32-coslr-30e_tiny-in1k-32px.py',
    'convmae': 'convmae/convmae_convvit-tiny_1xb32-coslr-30e_tiny-in1k-'
    '64px.py',
    'um-mae-swin': 'um-mae/um-mae_swin-micro_1xb32-coslr-30e_tiny-in1k-'
    '128px.py',
    'um-mae-pvt': 'um-mae/um-mae_pvt-micro_1xb32-coslr-30e_tiny-in1k-'
    '128px.py',
    'simmim-swin': 'simmim/simmim_swin-micro_1xb32-coslr-30e_tiny-in1k-'
    '128px.py',
    'simmim-pvt': 'simmim/simmim_pvt-micro_1xb32-coslr-30e_tiny-in1k-'
    '128px.py',
    'simmim-mmpretrain-swin': 'simmim/simmim_mmpretrain-swin-micro_1xb32-'
    'coslr-30e_tiny-in1k-128px.py',
}
# the pretraining whose encoder each dense family transfers
FAMILY_PRETRAIN = {'vit': 'mae', 'convvit': 'convmae', 'swin': 'um-mae-swin',
                   'pvt': 'um-mae-pvt',
                   'mmpretrain-swin': 'simmim-mmpretrain-swin'}
DENSE = {'mask-rcnn': ('mmdet', 'mask-rcnn_*_tiny-coco-*.py'),
         'upernet': ('mmseg', 'upernet_*_tiny-ade20k-*.py')}
# bf16 convolutions take torch's slow path on CPUs without bf16 units:
# one image and fewer RoIs keep a Mask R-CNN step at a few seconds
DENSE_SPEED = {
    'mask-rcnn': dict(batch_size=1, options={
        'model.train_cfg.rpn_proposal.max_per_img': 100,
        'model.train_cfg.rcnn.sampler.num': 32}),
    'upernet': dict(batch_size=2)}


@pytest.fixture(scope='module')
def data_cwd(tiny_data, tmp_path_factory):
    """A working directory whose data/tiny is the tiny data (the smoke
    configs read it relative to the working directory)."""
    cwd = tmp_path_factory.mktemp('amp')
    (cwd / 'data').mkdir()
    os.symlink(tiny_data, cwd / 'data' / 'tiny')
    old = os.getcwd()
    os.chdir(cwd)
    yield cwd
    os.chdir(old)


@pytest.fixture(scope='module')
def encoder_checkpoint(data_cwd):
    """family -> path of a freshly initialised pretraining checkpoint."""
    paths = {}

    def get(family):
        if family not in paths:
            method = FAMILY_PRETRAIN[family]
            torch.manual_seed(0)
            model = build_model(f'{CONFIGS}/{PRETRAIN[method]}',
                                'mmpretrain')
            paths[family] = str(data_cwd / f'{method}.pth')
            torch.save({'state_dict': model.state_dict()}, paths[family])
        return paths[family]

    return get


def bf16_train_step(config, scope, checkpoint=None, options=None,
                    batch_size=2):
    """One ``train_step`` of a config's model through the registered
    ``AmpOptimWrapper(dtype='bfloat16')`` on a batch of its own train
    dataloader.

    ``options`` (``--cfg-options`` style) are merged into the config, which
    is then built from a temporary dump.

    Returns:
        tuple: the log vars, the dtypes of every module output seen in the
        forward, and the names of the parameters the step changed.
    """
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
        fd, config = tempfile.mkstemp(suffix='.py')
        os.close(fd)
        cfg.dump(config)
    try:
        torch.manual_seed(0)
        model = build_model(config, scope, checkpoint).train()
    finally:
        if options:
            os.remove(config)
    loader_cfg = cfg.train_dataloader
    loader_cfg.batch_size = batch_size
    with DefaultScope.overwrite_default_scope(scope):
        batch = next(iter(Runner.build_dataloader(loader_cfg, seed=0)))
        wrapper = build_optim_wrapper(model, dict(
            cfg.optim_wrapper, type='AmpOptimWrapper', dtype='bfloat16'))
    assert isinstance(wrapper, amp.CPUAmpOptimWrapper)
    seen = set()
    hooks = [m.register_forward_hook(
        lambda m, i, out: seen.add(out.dtype) if torch.is_tensor(out) else
        None) for m in model.modules()]
    before = {n: p.detach().clone() for n, p in model.named_parameters()
              if p.requires_grad}
    log_vars = model.train_step(batch, wrapper)
    for hook in hooks:
        hook.remove()
    params = dict(model.named_parameters())
    changed = {n for n, p in before.items() if not torch.equal(p, params[n])}
    return log_vars, seen, changed


def check_step(log_vars, seen, changed):
    assert torch.bfloat16 in seen, 'nothing ran under bf16 autocast'
    assert math.isfinite(float(log_vars['loss']))
    assert any(n.startswith('backbone.') for n in changed)


@pytest.mark.parametrize('method', list(PRETRAIN))
def test_pretraining_step_under_bf16(method, data_cwd):
    check_step(*bf16_train_step(f'{CONFIGS}/{PRETRAIN[method]}',
                                'mmpretrain'))


@pytest.mark.parametrize('family', list(FAMILY_PRETRAIN))
@pytest.mark.parametrize('task', list(DENSE))
def test_dense_step_under_bf16(task, family, encoder_checkpoint):
    scope, pattern = DENSE[task]
    configs = glob.glob(f'{CONFIGS}/benchmarks/{family}/{pattern}')
    assert len(configs) == 1, configs
    log_vars, seen, changed = bf16_train_step(
        configs[0], scope, encoder_checkpoint(family), **DENSE_SPEED[task])
    check_step(log_vars, seen, changed)
    assert any(n.startswith('decode_head.' if task == 'upernet' else
                            'roi_head.') for n in changed)


def test_roi_extraction_keeps_fp32_boxes_under_bf16():
    """Without the fix, mmcv's RoIAlign has no bf16 kernel; and the RoIs
    must not be rounded to bf16 (a 4 px grid beyond 512 px)."""
    from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
    extractor = SingleRoIExtractor(
        roi_layer=dict(type='RoIAlign', output_size=2, sampling_ratio=2),
        out_channels=1, featmap_strides=[1])
    # exact in bf16 and varying along x, so any shift of a RoI shows
    feats = (torch.arange(1100.) % 16 / 16).expand(1, 1, 4, -1).to(
        torch.bfloat16)
    rois = torch.tensor([[0., 1001.25, 0., 1002.75, 2.]])
    out = extractor((feats, ), rois)
    assert out.dtype == torch.bfloat16
    exact = extractor((feats.float(), ), rois)
    torch.testing.assert_close(out.float(), exact.to(torch.bfloat16).float())
    assert extractor.forward.mimb_fp32


@pytest.fixture
def log_records():
    """Records logged to MMEngine's current logger during the test (at
    INFO and above: the registry logs its look-ups at DEBUG)."""
    records = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def tiny_wrapper(**kwargs):
    model = nn.Linear(4, 2)
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='AmpOptimWrapper',
        optimizer=torch.optim.AdamW(model.parameters(), lr=0.1), **kwargs))
    return model, wrapper


def update(model, wrapper):
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    wrapper.update_params(out.float().square().mean())
    return out


@pytest.mark.parametrize('scope', ['mmpretrain', 'mmdet', 'mmseg'])
def test_registered_wrapper_is_the_cpu_one(scope):
    registry = __import__(f'{scope}.registry',
                          fromlist=['OPTIM_WRAPPERS']).OPTIM_WRAPPERS
    with DefaultScope.overwrite_default_scope(scope):
        assert registry.get('AmpOptimWrapper') is amp.CPUAmpOptimWrapper
    assert issubclass(amp.CPUAmpOptimWrapper, AmpOptimWrapper)


@pytest.mark.parametrize('dtype', ['bfloat16', None, torch.bfloat16])
def test_bf16_autocast_without_scaling_logged_once(dtype, log_records):
    model, wrapper = tiny_wrapper(dtype=dtype)
    messages = [r.getMessage() for r in log_records]
    assert messages == [
        "AmpOptimWrapper on CPU: forward under torch.autocast('cpu', "
        'dtype=torch.bfloat16), no loss scaling (bfloat16 needs none)']
    weight = model.weight.detach().clone()
    assert update(model, wrapper).dtype == torch.bfloat16
    assert not torch.equal(weight, model.weight)
    assert not wrapper.loss_scaler.is_enabled()
    assert 'loss_scaler' not in wrapper.state_dict()
    assert len(log_records) == 1


def test_float16_scales_and_float32_falls_back(log_records):
    model, wrapper = tiny_wrapper(dtype='float16', loss_scale=256.)
    assert update(model, wrapper).dtype == torch.float16
    assert wrapper.state_dict()['loss_scaler']['scale'] == 256.
    model, wrapper = tiny_wrapper(dtype='float32')
    assert update(model, wrapper).dtype == torch.float32
    assert wrapper.cast_dtype is None
    fallback = log_records[-1]
    assert fallback.levelno == logging.WARNING
    assert 'cannot run torch.float32, falling back to float32' in \
        fallback.getMessage()
    with pytest.raises(ValueError, match='dtype must be one of'):
        tiny_wrapper(dtype='int8')
    with pytest.raises(TypeError, match='loss_scale'):
        tiny_wrapper(dtype='float16', loss_scale='static')


def gpu_scaler_state():
    """A GradScaler state as a GPU AmpOptimWrapper saves it."""
    return torch.amp.GradScaler('cpu', init_scale=4096.).state_dict()


def test_gpu_checkpoint_loads_on_cpu_and_back(log_records):
    model, wrapper = tiny_wrapper(dtype='bfloat16')
    update(model, wrapper)
    state = dict(wrapper.state_dict(), loss_scaler=gpu_scaler_state())
    model2, cpu = tiny_wrapper(dtype='bfloat16')
    cpu.load_state_dict(dict(state))
    assert 'kept for an accelerator' in log_records[-1].getMessage()
    saved = cpu.state_dict()
    assert saved['loss_scaler'] == gpu_scaler_state()
    torch.testing.assert_close(saved['state'], state['state'])
    update(model2, cpu)  # trains on from the loaded optimizer state
    assert cpu.optimizer.state_dict()['state'][0]['step'] == 2


def test_cpu_checkpoint_loads_into_mmengines_wrapper(monkeypatch):
    model, wrapper = tiny_wrapper(dtype='bfloat16')
    update(model, wrapper)
    state = wrapper.state_dict()
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    gpu = AmpOptimWrapper(
        dtype='bfloat16',
        optimizer=torch.optim.AdamW(nn.Linear(4, 2).parameters(), lr=0.1))
    gpu.load_state_dict(dict(state))
    torch.testing.assert_close(gpu.optimizer.state_dict()['state'],
                               state['state'])


def test_install_is_a_no_op_on_cuda(monkeypatch):
    monkeypatch.setitem(OPTIM_WRAPPERS._module_dict, 'AmpOptimWrapper',
                        AmpOptimWrapper)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    assert amp.has_accelerator()
    amp.install()
    assert OPTIM_WRAPPERS.get('AmpOptimWrapper') is AmpOptimWrapper
    monkeypatch.undo()
    assert OPTIM_WRAPPERS.get('AmpOptimWrapper') is amp.CPUAmpOptimWrapper
