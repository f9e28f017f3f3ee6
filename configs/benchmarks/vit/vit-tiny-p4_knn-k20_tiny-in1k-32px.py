# Smoke variant of the kNN protocol on the tiny ViT and the tiny ImageNet.
_base_ = [
    './vit-base-p16_knn-k20_in1k.py',
    '../../_base_/tiny_data.py',
]
model = dict(
    backbone=dict(
        arch={{_base_.tiny_vit_arch}},
        img_size={{_base_.tiny_img_size}},
        patch_size={{_base_.tiny_patch_size}}))
data_preprocessor = dict(num_classes={{_base_.tiny_num_classes}})
tiny_dataset = dict(data_root={{_base_.tiny_imagenet_root}},
                    metainfo=dict(classes={{_base_.tiny_classes}}),
                    pipeline={{_base_.tiny_test_pipeline}})
test_dataloader = dict(batch_size=64, num_workers=0,
                       persistent_workers=False, dataset=tiny_dataset)
test_cfg = dict(
    bank_dataloader=dict(batch_size=64, num_workers=0,
                         persistent_workers=False, dataset=tiny_dataset))
