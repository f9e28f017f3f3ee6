# What every config of the suite adds to its upstream recipe: our package
# (registers the modules and the safe checkpoint loader), a hook that stops
# on a non-finite loss, one that restores the random generators on resume,
# an optional wall-clock budget, one that can save the starting weights, and
# the hook that writes run_summary.json (cost, metrics, provenance) for the
# pipeline and the leaderboard. The
# stage name in the summary comes from ``mimb_stage`` (set by each protocol's
# config).
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
custom_hooks = [
    dict(type='NonFiniteLossHook'),
    dict(type='RNGStateHook'),
    dict(type='TimeBudgetHook'),
    dict(type='InitCheckpointHook'),
    dict(type='RunSummaryHook'),
]
mimb_stage = 'train'
# Wall-clock training budget in seconds (TimeBudgetHook); None = no limit.
mimb_time_budget_s = None
# Save the weights training starts from as <work_dir>/init.pth
# (InitCheckpointHook; the pipeline's random-init baseline sets it).
mimb_save_init = False
# TensorBoard: `mimb-pipeline ... --tensorboard` runs every stage through a
# config that inherits the stage's config and adds TensorboardVisBackend to
# visualizer.vis_backends (--cfg-options cannot express that list).
# A named variant of a published recipe says here what differs from the
# official code (README, "Variants"); None for the published recipes. The
# pipeline writes it into its summary and the leaderboard keeps a variant's
# rows apart from the published method's (variant column).
mimb_variant = None
