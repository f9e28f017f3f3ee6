# ViT-L Mask R-CNN at ConvMAE's 25-epoch budget (no dataset repetition).
_base_ = './mask-rcnn_vit-large-p16-sfp_8xb8-amp-lsj-100e_coco.py'
train_dataloader = dict(dataset=dict(times=1))
