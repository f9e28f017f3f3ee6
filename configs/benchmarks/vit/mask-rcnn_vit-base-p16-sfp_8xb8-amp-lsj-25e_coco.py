# The ViT-B Mask R-CNN protocol at ConvMAE's 25-epoch detection budget, for
# matched-budget comparison with ConvMAE: the 100-epoch recipe without the
# 4x dataset repetition (25 epochs, lr x0.1 at epochs 22 and 24).
_base_ = './mask-rcnn_vit-base-p16-sfp_8xb8-amp-lsj-100e_coco.py'
train_dataloader = dict(dataset=dict(times=1))
