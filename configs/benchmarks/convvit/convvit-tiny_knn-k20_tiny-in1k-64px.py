# Smoke variant of the ConvViT kNN protocol on the tiny ConvViT and 64 px
# crops of the tiny ImageNet.
_base_ = [
    '../vit/vit-tiny-p4_knn-k20_tiny-in1k-32px.py',
    '../../_base_/convvit.py',
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='ConvViT',
        arch={{_base_.tiny_convvit_arch}},
        img_size={{_base_.tiny_convvit_size}},
        out_type='avg_featmap',
        final_norm=True))
test_dataloader = dict(
    dataset=dict(pipeline={{_base_.tiny_convvit_test_pipeline}}))
test_cfg = dict(
    allow_unexpected={{_base_.convmae_fusion_keys}},
    bank_dataloader=dict(
        dataset=dict(pipeline={{_base_.tiny_convvit_test_pipeline}})))
