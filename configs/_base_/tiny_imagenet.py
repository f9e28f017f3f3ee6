# The tiny ImageNet written by `mimb-data --out data/tiny` (8 classes, 64 px
# images, meta/{train,val}.txt) and the tiny plain ViT that every smoke
# config of the ViT family uses (4 layers, 64-d, 4 px patches on 32 px
# crops: an 8 x 8 grid). Smoke configs inherit this after their real recipe.
tiny_imagenet_root = 'data/tiny/imagenet/'
tiny_classes = ('circle', 'square', 'triangle', 'diamond', 'cross', 'star',
                'hexagon', 'bar')
tiny_num_classes = 8
tiny_img_size = 32
tiny_patch_size = 4
# `_delete_` because it replaces an arch name ('b', 'base') of the recipe.
tiny_vit_arch = dict(
    _delete_=True,
    embed_dims=64,
    num_layers=4,
    num_heads=4,
    feedforward_channels=256)
tiny_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=37, edge='short', backend='pillow',
         interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=32),
    dict(type='PackInputs'),
]
