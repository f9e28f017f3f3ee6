# Linear probing of a frozen coordinate-aware Swin-T (UM-MAE, SimMIM): the
# plain-ViT family's protocol (BatchNorm without affine + linear head, LARS
# lr 6.4, 90 epochs, 8 GPUs x 2048) on the mean of the stage-4 tokens after
# the pretrained final norm; every encoder key from the checkpoint. The
# window grows to 16 as in fine-tuning (no new parameters).
_base_ = [
    '../vit/vit-base-p16_8xb2048-linear-coslr-90e_in1k.py',
    '../../_base_/swin.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='CoordSwin',
        arch='tiny',
        window_size={{_base_.swin_dense_window}},
        out_type='avg_featmap',
        frozen_stages=4,
        init_cfg={{_base_.swin_cls_init}}))
