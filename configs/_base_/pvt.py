# What the PVT protocols share (UM-MAE's and SimMIM's CoordPVT encoder).
# Pretraining-only keys: UM-MAE's secondary mask token, SimMIM's mask token.
# Classification (mean of the stage-4 tokens -> the pretrained final norm):
# every encoder key from the checkpoint, the position table included (it
# becomes learnable, as in the official fine-tuning).
pvt_cls_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_unexpected=['vis_mask_token', 'mask_token'])
# Dense tasks: new per-stage norms norm0-norm3 on the four outputs; the
# pretraining's final norm is not used.
pvt_dense_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_missing=['norm0.*', 'norm1.*', 'norm2.*', 'norm3.*'],
    allow_unexpected=['vis_mask_token', 'mask_token', 'norm.*'])
# The encoder of the dense protocols (Mask R-CNN 1x / 3x, UperNet): the four
# stage outputs (64/128/320/512 channels), the downstream key/value pooling
# (8, 4, 2, 1), the position table resized to every input, drop path 0.1
# (the official DET and SEG PVT-S backbones).
pvt_dense_channels = [64, 128, 320, 512]
pvt_dense_backbone = dict(
    _delete_=True,
    type='mmpretrain.CoordPVT',
    arch='small',
    drop_path_rate=0.1,
    out_indices=(0, 1, 2, 3),
    init_cfg=pvt_dense_init)
# The protocols of a PVT-S pretraining config (UM-MAE, SimMIM), relative to
# configs/<method>/.
pvt_small_protocols = dict(
    finetune='../benchmarks/pvt/pvt-small_8xb128-coslr-100e_in1k-256px.py',
    linear='../benchmarks/pvt/'
    'pvt-small_8xb2048-linear-coslr-90e_in1k-256px.py',
    knn='../benchmarks/pvt/pvt-small_knn-k20_in1k-256px.py',
    det='../benchmarks/pvt/mask-rcnn_pvt-small-fpn_8xb2-amp-1x_coco.py',
    seg='../benchmarks/pvt/'
    'upernet_pvt-small_8xb2-amp-160k_ade20k-512x512.py')
# The micro PVT of the PVT-family smoke configs: the micro Swin's channels
# (32/64/128/256) and blocks (configs/_base_/tiny_data.py) with the PVT
# heads and MLP ratios, pretrained on the same 128 px crops (a 32 x 32
# position table), and its dense-task encoder.
tiny_pvt_arch = dict(
    embed_dims=[32, 64, 128, 256],
    depths=[1, 1, 2, 1],
    num_heads=[1, 2, 4, 8],
    mlp_ratios=[8, 8, 4, 4])
tiny_pvt_pretrain_size = 128
tiny_pvt_dense_backbone = dict(
    pvt_dense_backbone,
    arch=tiny_pvt_arch,
    pretrain_size=tiny_pvt_pretrain_size)
# The smoke protocols of a micro PVT pretraining config.
tiny_pvt_protocols = dict(
    finetune='../benchmarks/pvt/pvt-micro_1xb32-coslr-8e_tiny-in1k-64px.py',
    linear='../benchmarks/pvt/'
    'pvt-micro_1xb32-linear-coslr-30e_tiny-in1k-64px.py',
    knn='../benchmarks/pvt/pvt-micro_knn-k20_tiny-in1k-64px.py',
    det='../benchmarks/pvt/mask-rcnn_pvt-micro-fpn_1xb2-12e_tiny-coco-128px.py',
    seg='../benchmarks/pvt/upernet_pvt-micro_1xb4-300i_tiny-ade20k-64x64.py')
