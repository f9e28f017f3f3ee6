"""``mimb-pipeline --parallel``: transfer stages run at once, a stage that
starts from another's checkpoint waits for it, failures are all reported.
The stages are stand-in commands (each sleeps, then writes a summary and a
checkpoint, or fails), so only the scheduling is under test."""
import json
import sys

import pytest
import torch

import benchmarks.pipeline as pipeline

STAGE = r'''
import json, os, sys, time
stage, work, ckpt, fail = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
start = time.time()
time.sleep(1.0)
if stage in fail.split(','):
    print('stage broke on purpose'); sys.exit(3)
out = os.path.join(work, 'epoch_1.pth')
open(out, 'w').write('weights')
open(os.path.join(work, 'last_checkpoint'), 'w').write(out)
summary = dict(finished=True, stage=stage, started=start,
               ended=time.time(), checkpoint_in=ckpt)
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

    def run(fail='', parallel=3):
        def command(stage, config, work_dir, checkpoint, args, port=None):
            return [sys.executable, '-c', STAGE, stage, work_dir,
                    checkpoint or '', fail]
        monkeypatch.setattr(pipeline, 'stage_command', command)
        args = pipeline.parse_args([
            str(config), '--stages', *TRANSFER, '--checkpoint',
            str(tmp_path / 'pre.pth'), '--parallel', str(parallel),
            '--work-dir', str(tmp_path / f'run_{fail}_{parallel}')])
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
