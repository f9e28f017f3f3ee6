# What the ConvViT-family protocols share (ConvMAE encoders).
# Keys of a ConvMAE pretraining encoder (ConvMAEViT) that a downstream
# ConvViT does not have: the multi-scale fusion convs, which only feed the
# decoder, and, where the protocol pools into a new fc_norm instead, the
# final norm.
convmae_fusion_keys = ['stage1_output_decode.*', 'stage2_output_decode.*']
convmae_fusion_and_norm_keys = convmae_fusion_keys + ['norm.*']
# Fine-tuning: the encoder without its final norm, a new fc_norm after
# pooling, layer decay 0.65 (ConvViT.get_layer_depth: stages 1-2 and the
# embeddings lowest, stage-3 block i at depth i + 1), no weight decay on 1-D
# parameters (the official param_groups_lrd).
convvit_finetune_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_missing=['fc_norm.*'],
    allow_unexpected=convmae_fusion_and_norm_keys)
convvit_finetune_paramwise = dict(
    _delete_=True,
    layer_decay_rate=0.65,
    flat_decay_mult=0.0,
    custom_keys={'.pos_embed': dict(decay_mult=0.0)})
# Linear probing: every encoder key from the checkpoint but the fusion convs.
convvit_linear_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_unexpected=convmae_fusion_keys)
# Dense tasks: new relative position tables (per block or shared) and layer
# scales, no fusion convs or final norm.
convvit_dense_init = dict(
    type='Pretrained',
    checkpoint='',
    prefix='backbone.',
    allow_missing=['blocks3.*.rel_pos_*', 'windowed_rel_pos_bias.*',
                   'global_rel_pos_bias.*', 'blocks3.*.gamma*'],
    allow_unexpected=convmae_fusion_and_norm_keys)
# Detection (the official DET recipe): no layer decay, no weight decay on
# norms and position tables (Alpha-VL/ConvMAE DET/configs/convmae/
# convmae_base_mask_rcnn_FPN_100ep.py L133-137), and the pretrained
# position table frozen.
convvit_det_paramwise = dict(
    norm_decay_mult=0.0,
    custom_keys={
        '.pos_embed': dict(lr_mult=0.0, decay_mult=0.0),
        '.relative_position_bias_table': dict(decay_mult=0.0),
        '.rel_pos_h': dict(decay_mult=0.0),
        '.rel_pos_w': dict(decay_mult=0.0),
    })
