# What every config of the suite adds to its upstream recipe: our package
# (registers the modules and the safe checkpoint loader), a hook that stops
# on a non-finite loss, and the hook that writes run_summary.json (cost,
# metrics, provenance) for the pipeline and the leaderboard. The stage name
# in the summary comes from ``mimb_stage`` (set by each protocol's config).
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='RNGStateHook'),
    dict(type='RunSummaryHook'),
]
mimb_stage = 'train'
# TensorBoard: `mimb-pipeline ... --tensorboard`, or for a single run
# --cfg-options "visualizer.vis_backends=[dict(type='LocalVisBackend'),dict(type='TensorboardVisBackend')]"
