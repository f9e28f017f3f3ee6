# What the coordinate-aware Swin protocols share (UM-MAE and SimMIM
# encoders). Pretraining-only keys of the encoders: UM-MAE's secondary
# mask token, SimMIM's mask token.
swin_pretrain_only_keys = ['vis_mask_token', 'mask_token']
# Classification (mean of the stage-4 tokens -> the pretrained final norm):
# every encoder key from the checkpoint.
swin_cls_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_unexpected=swin_pretrain_only_keys)
# Dense tasks: new per-stage norms norm0-norm3 on the four outputs; the
# pretraining's final norm is not used.
swin_dense_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_missing=['norm0.*', 'norm1.*', 'norm2.*', 'norm3.*'],
    allow_unexpected=swin_pretrain_only_keys + ['norm.*'])
# Window 16 downstream (the official fine-tuning); the attention bias comes
# from coordinates, so the pretrained window 8 needs nothing to change.
swin_dense_window = 16
# The encoder of the dense protocols (Mask R-CNN 1x / 3x, UperNet): the four
# stage outputs, drop path 0.2 as mmdet's and mmseg's Swin-T recipes.
swin_dense_backbone = dict(
    _delete_=True,
    type='mmpretrain.CoordSwin',
    arch='tiny',
    window_size=swin_dense_window,
    drop_path_rate=0.2,
    out_indices=(0, 1, 2, 3),
    init_cfg=swin_dense_init)
# mmdet's Swin recipes: no weight decay on norms, no layer decay.
swin_dense_paramwise = dict(_delete_=True,
                            custom_keys={'norm': dict(decay_mult=0.)})
