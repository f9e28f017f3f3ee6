# What the protocols of mmpretrain's standard Swin share: the encoder of
# SimMIM's reference row (mmpretrain's registered SimMIM with its
# SimMIMSwinTransformer), transferred as mmpretrain's SwinTransformer with
# the coordinate-aware Swin protocols' recipes (configs/_base_/swin.py).
#
# Windows. The protocols use window 16 (8 in pretraining). Official Swin
# (and CoordSwin) shrink a window to a stage's side where the map is
# smaller, without shift; mmpretrain's Swin refuses such a map unless
# `pad_small_map=True`, which pads it with zero tokens that take part in
# the attention (no key mask). So a stage's window is set to
# min(16, its side at the protocol's input size) through `stage_cfgs`
# (at 256 px: 16, 16, 16 and 8 on the 8 x 8 stage-4 map), which is the
# official rule; the dense protocols, whose input sizes vary, add
# `pad_small_map=True` as mmpretrain advises for detection/segmentation.
# A window other than the checkpoint's gets its relative-position bias
# table resized on load by SwinTransformer's load_state_dict pre-hook
# (mmpretrain's geometric resize, as BEiT; SciPy >= 1.14 needs
# backbones.engine.compat for it), which drops that block's
# `relative_position_index` buffer from the checkpoint: the model rebuilds
# it for its own window, so those keys may be missing.
mmpretrain_swin_rebuilt_keys = ['*.relative_position_index']
# Pretraining-only key of SimMIMSwinTransformer.
mmpretrain_swin_pretrain_only_keys = ['mask_token']
# Classification (stage-4 map through the pretrained norm3, then
# GlobalAveragePooling): every encoder key from the checkpoint.
mmpretrain_swin_cls_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_missing=mmpretrain_swin_rebuilt_keys,
    allow_unexpected=mmpretrain_swin_pretrain_only_keys)
# Dense tasks: new norms norm0-norm2 on stages 1-3; norm3 is the pretrained
# one (mmpretrain's Swin has one norm per output, no separate final norm).
mmpretrain_swin_dense_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_missing=['norm0.*', 'norm1.*', 'norm2.*'] +
    mmpretrain_swin_rebuilt_keys,
    allow_unexpected=mmpretrain_swin_pretrain_only_keys)
mmpretrain_swin_window = 16
# Classification at 256 px: stage maps 64, 32, 16, 8.
mmpretrain_swin_cls_stages = [dict(), dict(), dict(), dict(window_size=8)]
# Classification of the micro smoke models at 64 px: stage maps 16, 8, 4, 2.
tiny_mmpretrain_swin_cls_stages = [
    dict(), dict(window_size=8), dict(window_size=4), dict(window_size=2)]
# The encoder of the dense protocols (Mask R-CNN 1x, UperNet): the four
# stage outputs, drop path 0.2 as the coordinate-aware Swin protocols.
mmpretrain_swin_dense_backbone = dict(
    _delete_=True,
    type='mmpretrain.SwinTransformer',
    arch='tiny',
    window_size=mmpretrain_swin_window,
    pad_small_map=True,
    drop_path_rate=0.2,
    out_indices=(0, 1, 2, 3),
    init_cfg=mmpretrain_swin_dense_init)
