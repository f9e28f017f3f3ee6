"""The kNN vote and feature pooling."""
import pytest
import torch

from backbones.engine.knn import knn_scores, pool_features


def test_knn_scores_by_hand():
    bank = torch.tensor([[1., 0.], [0.8, 0.6], [0., 1.]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1., 0.]])
    scores = knn_scores(query, bank, labels, num_classes=3, k=2,
                        temperature=0.5)
    # neighbours: bank 0 (sim 1.0, class 0) and bank 1 (sim 0.8, class 1)
    w0, w1 = torch.tensor(2.0).exp(), torch.tensor(1.6).exp()
    expected = torch.tensor([[w0, w1, 0.]]) / (w0 + w1)
    assert torch.allclose(scores, expected)


def test_k_larger_than_bank_is_capped():
    bank = torch.eye(3)
    scores = knn_scores(torch.eye(3), bank, torch.tensor([0, 1, 2]), 3, k=50)
    assert scores.argmax(1).tolist() == [0, 1, 2]
    assert torch.allclose(scores.sum(1), torch.ones(3))


@pytest.mark.parametrize('shape', [(4, 8), (4, 5, 8), (4, 8, 3, 3)])
def test_pool_features_shapes(shape):
    out = pool_features((torch.randn(*shape), ))
    assert out.shape == (4, 8)
    assert torch.allclose(out.norm(dim=1), torch.ones(4))


def test_pool_features_rejects_other_ranks():
    with pytest.raises(ValueError, match='cannot pool'):
        pool_features(torch.randn(2, 3, 4, 5, 6))
