"""Weighted k-nearest-neighbour evaluation of frozen features.

mmpretrain has no kNN evaluation for ViTs. :class:`KNNTestLoop` is an MMEngine
test loop that works with any classifier whose ``extract_feat`` returns
features: it embeds a labelled *bank* set (usually the training split), then
classifies every test image by the temperature-weighted vote of its ``k``
most cosine-similar bank images (Wu et al. 2018, as used by DINO), and hands
the class scores to the configured evaluator (mmpretrain ``Accuracy``).

Run it with ``mim test mmpretrain <knn config> --checkpoint <pretrain.pth>``:
the loop verifies that the checkpoint's ``backbone.`` weights fitted the
backbone exactly before it evaluates.
"""
from typing import Dict, List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dist import all_gather
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.registry import LOOPS
from mmengine.runner import TestLoop
from mmengine.utils import ProgressBar
from torch.utils.data import DataLoader

from .checkpoint import check_loaded_checkpoint


def pool_features(feats: Union[torch.Tensor, Sequence[torch.Tensor]]
                  ) -> torch.Tensor:
    """Reduce backbone/neck output to one L2-normalised vector per image.

    Args:
        feats (Tensor | Sequence[Tensor]): ``extract_feat`` output; the last
            element is used. Shapes (B, C), (B, L, C) (token mean) or
            (B, C, H, W) (spatial mean).

    Returns:
        Tensor: (B, C), unit L2 norm.
    """
    if isinstance(feats, (list, tuple)):
        feats = feats[-1]
    if feats.dim() == 4:
        feats = feats.mean(dim=(2, 3))
    elif feats.dim() == 3:
        feats = feats.mean(dim=1)
    elif feats.dim() != 2:
        raise ValueError(f'cannot pool features of shape {tuple(feats.shape)}')
    return F.normalize(feats.float(), dim=1)


def knn_scores(query: torch.Tensor, bank: torch.Tensor,
               bank_labels: torch.Tensor, num_classes: int, k: int = 20,
               temperature: float = 0.07) -> torch.Tensor:
    """Temperature-weighted kNN class scores.

    Args:
        query (Tensor): (B, C) unit-norm query features.
        bank (Tensor): (N, C) unit-norm bank features.
        bank_labels (Tensor): (N,) integer labels of the bank.
        num_classes (int): Number of classes.
        k (int): Neighbours per query (capped at N). Defaults to 20.
        temperature (float): Softmax temperature of the similarity weights.
            Defaults to 0.07.

    Returns:
        Tensor: (B, num_classes) scores that sum to 1 per row.
    """
    sim = query @ bank.t()
    top_sim, top_idx = sim.topk(min(k, bank.shape[0]), dim=1)
    weights = (top_sim / temperature).exp()
    votes = torch.zeros(query.shape[0], num_classes, device=query.device)
    votes.scatter_add_(1, bank_labels[top_idx], weights)
    return votes / votes.sum(dim=1, keepdim=True)


def gather_in_sampler_order(local: torch.Tensor,
                            size: int) -> torch.Tensor:
    """Every rank's rows in data set order, without the sampler's padding.

    MMEngine's ``DefaultSampler`` gives rank ``r`` of ``R`` the indices
    ``r, r + R, r + 2R, ...`` of a list that it pads by repeating its first
    indices until every rank holds the same number. Interleaving the ranks'
    rows therefore restores that list; its first ``size`` rows are the data
    set, each sample once (the order MMEngine's ``collect_results`` uses).

    Args:
        local (Tensor): (n, ...) this rank's rows, n equal on every rank.
        size (int): Number of samples in the data set.

    Returns:
        Tensor: (size, ...) the rows of all ranks.

    Raises:
        ValueError: The ranks hold fewer rows than ``size`` (a sampler
            other than ``DefaultSampler`` with ``round_up=True``).
    """
    gathered = all_gather(local)
    rows = torch.stack(gathered, dim=1).flatten(0, 1)
    if rows.shape[0] < size:
        raise ValueError(
            f'the ranks hold {rows.shape[0]} rows for a data set of {size} '
            'samples: the kNN bank needs DefaultSampler(round_up=True)')
    return rows[:size]


@LOOPS.register_module()
class KNNTestLoop(TestLoop):
    """Test loop that scores the test set by kNN over a bank set.

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): Test images.
        evaluator (Evaluator | dict | list): Evaluator of the class scores,
            e.g. ``dict(type='Accuracy', topk=(1, 5), prefix='knn')``.
        bank_dataloader (DataLoader | dict): Labelled images whose features
            form the bank (the training split, without augmentation).
        k (int): Number of neighbours. Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.
        checkpoint_prefix (str): Prefix of the backbone in the checkpoint
            given to ``mim test``; its keys must fit the backbone exactly.
            Defaults to 'backbone.'.
        allow_unexpected (Sequence[str]): Glob patterns of checkpoint keys
            the backbone may lack. Defaults to ().
        allow_missing (Sequence[str]): Glob patterns of backbone keys the
            checkpoint may lack (e.g. relative-position index buffers that
            mmpretrain's Swin rebuilds for another window size). Defaults
            to ().
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict],
                 evaluator, bank_dataloader: Union[DataLoader, Dict],
                 k: int = 20, temperature: float = 0.07,
                 checkpoint_prefix: str = 'backbone.',
                 allow_unexpected: Sequence[str] = (),
                 allow_missing: Sequence[str] = ()) -> None:
        super().__init__(runner, dataloader, evaluator)
        if k < 1 or temperature <= 0:
            raise ValueError(f'KNNTestLoop needs k >= 1 and temperature > 0, '
                             f'got k={k}, temperature={temperature}')
        self.bank_dataloader = (runner.build_dataloader(bank_dataloader)
                                if isinstance(bank_dataloader, dict) else
                                bank_dataloader)
        self.k = k
        self.temperature = temperature
        self.checkpoint_prefix = checkpoint_prefix
        self.allow_unexpected = tuple(allow_unexpected)
        self.allow_missing = tuple(allow_missing)

    @property
    def model(self):
        """The classifier, without its DDP wrapper (the loop calls its
        ``data_preprocessor`` and ``extract_feat``, not ``forward``)."""
        model = self.runner.model
        return model.module if is_model_wrapper(model) else model

    def _features(self, data_batch: dict) -> Tuple[torch.Tensor, List]:
        model = self.model
        data = model.data_preprocessor(data_batch, False)
        return (pool_features(model.extract_feat(data['inputs'])),
                data['data_samples'])

    def _embed_bank(self) -> Tuple[torch.Tensor, torch.Tensor]:
        feats, labels = [], []
        bar = ProgressBar(len(self.bank_dataloader))
        for data_batch in self.bank_dataloader:
            batch_feats, samples = self._features(data_batch)
            feats.append(batch_feats)
            labels.append(torch.cat([s.gt_label for s in samples]))
            bar.update()
        size = len(self.bank_dataloader.dataset)
        feats = torch.cat(feats)
        return (gather_in_sampler_order(feats, size),
                gather_in_sampler_order(
                    torch.cat(labels).to(feats.device), size))

    def run(self) -> dict:
        """Embed the bank, vote for every test image, evaluate."""
        runner = self.runner
        runner.call_hook('before_test')
        runner.call_hook('before_test_epoch')
        self.model.eval()
        if runner._load_from:
            check_loaded_checkpoint(self.model.backbone, runner._load_from,
                                    self.checkpoint_prefix,
                                    allow_unexpected=self.allow_unexpected,
                                    allow_missing=self.allow_missing)
        print_log(f'kNN: embedding {len(self.bank_dataloader.dataset)} bank '
                  'images', logger='current')
        with torch.no_grad():
            bank, bank_labels = self._embed_bank()
        print_log(f'kNN: {bank.shape[0]} bank features, '
                  f'{len(self.dataloader.dataset)} queries', logger='current')
        classes = self.bank_dataloader.dataset.metainfo.get('classes')
        num_classes = len(classes) if classes else int(bank_labels.max()) + 1
        if int(bank_labels.max()) >= num_classes:
            raise ValueError(f'bank label {int(bank_labels.max())} >= '
                             f'number of classes {num_classes}')
        for idx, data_batch in enumerate(self.dataloader):
            runner.call_hook('before_test_iter', batch_idx=idx,
                             data_batch=data_batch)
            with torch.no_grad():
                query, data_samples = self._features(data_batch)
                scores = knn_scores(query, bank, bank_labels, num_classes,
                                    self.k, self.temperature)
            for sample, score in zip(data_samples, scores):
                sample.set_pred_score(score).set_pred_label(score.argmax())
            self.evaluator.process(data_samples=data_samples,
                                   data_batch=data_batch)
            runner.call_hook('after_test_iter', batch_idx=idx,
                             data_batch=data_batch, outputs=data_samples)
        metrics = self.evaluator.evaluate(len(self.dataloader.dataset))
        runner.call_hook('after_test_epoch', metrics=metrics)
        runner.call_hook('after_test')
        return metrics
