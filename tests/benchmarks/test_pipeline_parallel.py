"""``mimb-pipeline --parallel``: transfer stages run at once, a stage that
starts from another's checkpoint waits for it, failures are all reported;
``--random-init`` and ``--seeds``: one shared baseline folder per backbone
and seed, its stages start from the saved start weights and are reused.
The stages are stand-in commands (each sleeps, then writes a summary and a
checkpoint, or fails), so only the scheduling is under test."""
import json
import sys

import pytest
import torch

import benchmarks.pipeline as pipeline
import benchmarks.stages as stages

STAGE = r'''
import json, os, sys, time
stage, work, ckpt, fail, config, options = sys.argv[1:7]
os.makedirs(work, exist_ok=True)
start = time.time()
time.sleep(1.0)
if stage in fail.split(','):
    print('stage broke on purpose'); sys.exit(3)
out = os.path.join(work, 'epoch_1.pth')
if 'mimb_save_init=True' in options:
    out = os.path.join(work, 'init.pth')
open(out, 'w').write('weights')
open(os.path.join(work, 'last_checkpoint'), 'w').write(out)
summary = dict(finished=True, stage=stage, started=start,
               ended=time.time(), checkpoint_in=ckpt, options=options,
               provenance=dict(config=config))
json.dump(summary, open(os.path.join(work, 'run_summary.json'), 'w'))
'''
TRANSFER = ['finetune', 'linear', 'knn', 'det', 'seg']


@pytest.fixture
def fake_run(tmp_path, monkeypatch):
    for name in TRANSFER:
        (tmp_path / f'{name}.py').write_text('')
    config = tmp_path / 'fake_vit-x_1xb1-1e_tiny.py'
    config.write_text(
        'mimb_downstream = dict(' + ', '.join(
            f"{s}='./{s}.py'" for s in TRANSFER) + ')\n'
        "mimb_init_from = dict(det='finetune', seg='finetune')\n")
    # a real (empty) checkpoint: the pipeline checks --checkpoint up front
    torch.save({'state_dict': {}}, tmp_path / 'pre.pth')

    def run(fail='', parallel=3, more=()):
        def command(stage, config, work_dir, checkpoint, args, port=None,
                    extra=()):
            return [sys.executable, '-c', STAGE, stage, work_dir,
                    checkpoint or '', fail, config, ' '.join(extra)]
        monkeypatch.setattr(stages, 'stage_command', command)
        args = pipeline.parse_args([
            str(config), '--stages', *TRANSFER, '--checkpoint',
            str(tmp_path / 'pre.pth'), '--parallel', str(parallel),
            '--work-dir', str(tmp_path / f'run_{fail}_{parallel}'),
            '--runs-root', str(tmp_path / 'runs'), *more])
        return pipeline.run_pipeline(args)
    return run, tmp_path


def test_parallel_stages_overlap_and_wait_for_their_source(fake_run):
    run, tmp_path = fake_run
    out = run()
    done = out['stages']
    assert list(done) == TRANSFER and not out['failed']
    assert done['finetune']['checkpoint_in'] == str(tmp_path / 'pre.pth')
    finetune_ckpt = tmp_path / 'run__3' / 'finetune' / 'epoch_1.pth'
    for stage in ('det', 'seg'):
        assert done[stage]['checkpoint_in'] == str(finetune_ckpt)
        assert done[stage]['started'] >= done['finetune']['ended']
    # finetune, linear and knn ran at once
    first = [done[s] for s in ('finetune', 'linear', 'knn')]
    assert max(s['started'] for s in first) < min(s['ended'] for s in first)
    saved = json.loads(
        (tmp_path / 'run__3' / 'pipeline_summary.json').read_text())
    assert saved['failed'] == {} and set(saved['stages']) == set(TRANSFER)


def test_sequential_runs_one_at_a_time(fake_run):
    run, _ = fake_run
    done = run(parallel=1)['stages']
    spans = sorted((s['started'], s['ended']) for s in done.values())
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))


def test_failures_do_not_stop_the_others_and_are_all_reported(fake_run):
    run, _ = fake_run
    out = run(fail='linear,finetune')
    assert set(out['stages']) == {'knn'}
    assert set(out['failed']) == {'linear', 'finetune', 'det', 'seg'}
    assert 'stage linear failed with exit code 3' in out['failed']['linear']
    assert 'stage broke on purpose' in out['failed']['linear']
    assert out['failed']['det'] == ('stage det starts from finetune, which '
                                    'failed')


def test_bad_init_source_is_refused(fake_run):
    run, tmp_path = fake_run
    config = tmp_path / 'fake_vit-x_1xb1-1e_tiny.py'
    config.write_text(config.read_text().replace(
        "seg='finetune'", "seg='knn'"))
    with pytest.raises(pipeline.PipelineError, match="'seg': 'knn'"):
        run()


def test_gpus_help_says_processes_on_cpu(capsys):
    with pytest.raises(SystemExit):
        pipeline.parse_args(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert 'without CUDA that many CPU processes' in text
    assert '--parallel N' in text


def test_random_init_runs_from_the_start_weights_and_is_reused(fake_run):
    run, tmp_path = fake_run
    out = run(more=['--random-init', '--random-init-stages', 'all'])
    base = tmp_path / 'runs' / 'random-init_vit-x_0e_seed0'
    assert out['random_init'] == str(base) and not out['failed']
    saved = json.loads((base / 'pipeline_summary.json').read_text())
    assert (saved['method'], saved['backbone'], saved['schedule']) == (
        'random-init', 'vit-x', '0e')
    assert set(saved['stages']) == {'pretrain', *TRANSFER}
    # the 0-epoch pretraining run saved the start weights ...
    pre = saved['stages']['pretrain']
    assert pre['options'] == 'train_cfg.max_epochs=0 mimb_save_init=True'
    assert pre['checkpoint_in'] == ''  # not --checkpoint: that is trained
    init = str(base / 'pretrain' / 'init.pth')
    assert saved['pretrain_checkpoint'] == init
    # ... every transfer stage started from them (dense ones through the
    # random-init fine-tune, as mimb_init_from says for this family)
    done = saved['stages']
    for stage in ('finetune', 'linear', 'knn'):
        assert done[stage]['checkpoint_in'] == init
    for stage in ('det', 'seg'):
        assert done[stage]['checkpoint_in'] == str(
            base / 'finetune' / 'epoch_1.pth')
    # a second method on the backbone reuses every finished stage
    first = {s: d['started'] for s, d in done.items()}
    again = run(parallel=1, more=['--random-init', '--random-init-stages',
                                  'all'])
    saved = json.loads((base / 'pipeline_summary.json').read_text())
    assert again['random_init'] == str(base)
    assert {s: d['started'] for s, d in saved['stages'].items()} == first


def test_random_init_stages_default_and_sources(fake_run):
    run, tmp_path = fake_run
    base = tmp_path / 'runs' / 'random-init_vit-x_0e_seed0'
    # by default the classification stages only; the pipeline runs all
    out = run(more=['--random-init'])
    saved = json.loads((base / 'pipeline_summary.json').read_text())
    assert set(saved['stages']) == {'pretrain', 'finetune', 'linear', 'knn'}
    assert set(out['stages']) == set(TRANSFER) and not out['failed']
    # det alone brings the fine-tune it starts from (mimb_init_from); the
    # folder's summary keeps the stages finished there before
    out = run(parallel=1, more=['--random-init', '--random-init-stages',
                                'det'])
    saved = json.loads((base / 'pipeline_summary.json').read_text())
    assert set(saved['stages']) == {'pretrain', 'finetune', 'linear', 'knn',
                                    'det'}
    assert saved['stages']['det']['checkpoint_in'] == str(
        base / 'finetune' / 'epoch_1.pth')


def test_random_init_refuses_a_finished_stage_of_another_protocol(fake_run):
    run, tmp_path = fake_run
    run(more=['--random-init'])
    config = tmp_path / 'fake_vit-x_1xb1-1e_tiny.py'
    (tmp_path / 'linear2.py').write_text('')
    config.write_text(config.read_text().replace("'./linear.py'",
                                                 "'./linear2.py'"))
    with pytest.raises(pipeline.PipelineError,
                       match=r'random-init \(backbone vit-x\) linear stage '
                       r'run with .*linear\.py.*--force'):
        run(parallel=2, more=['--random-init'])  # a new run, the old row


def test_finished_stage_of_another_config_is_refused(fake_run):
    run, tmp_path = fake_run
    run(parallel=1)
    config = tmp_path / 'fake_vit-x_1xb1-1e_tiny.py'
    (tmp_path / 'knn2.py').write_text('')
    config.write_text(config.read_text().replace("'./knn.py'",
                                                 "'./knn2.py'"))
    with pytest.raises(pipeline.PipelineError,
                       match=r'run__1 holds the knn stage run with .*knn\.py'
                       r", but this pipeline's config is .*knn2\.py: pass "
                       '--force'):
        run(parallel=1)
    assert set(run(parallel=1, more=['--force'])['stages']) == set(TRANSFER)


def test_seeds_and_random_init_defaults():
    args = pipeline.parse_args(['x.py', '--smoke', '--seeds', '0', '1', '2'])
    assert args.seeds == [0, 1, 2] and args.random_init is True
    args = pipeline.parse_args(['x.py', '--seed', '3'])
    assert args.seeds == [3] and args.random_init is False
    args = pipeline.parse_args(['x.py', '--smoke', '--no-random-init'])
    assert args.random_init is False
    assert args.random_init_stages == ['finetune', 'linear', 'knn']
    args = pipeline.parse_args(['x.py', '--random-init-stages', 'all'])
    assert args.random_init_stages == TRANSFER
    with pytest.raises(SystemExit):
        pipeline.parse_args(['x.py', '--seeds', '1', '1'])
