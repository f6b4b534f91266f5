"""The language-modelling evaluator on tiny generated corpora: perplexity falls with
training, results are seeded and survive pickling, the final training compares each cell
with an equal-size LSTM, and ENAS's shared weights are really shared."""

import dataclasses
import pickle

import numpy as np
import pytest
import torch

from rlnas.arch import parse
from rlnas.arch.rnn import equal_size_lstm, rnn_plan
from rlnas.evaluation.text import (
    LanguageModelEvaluator,
    LMTrainConfig,
    TextSpec,
    batchify,
    perplexity,
)
from rlnas.nn import build
from rlnas.nn.options import BuildOptions
from rlnas.results import SharedTrainConfig, TrialStatus
from rlnas.spaces import make_space
from rlnas.testing import write_ptb, write_text

CELL = "[CELL(8,16), TANH(0), RELU(1), SIGM(1), LM({v})]"
TRAIN = LMTrainConfig(epochs=3, batch_size=8, bptt=20, learning_rate=0.01)


@pytest.fixture(scope="module")
def evaluator(tmp_path_factory):
    path = write_text(tmp_path_factory.mktemp("text") / "chain.txt", words=1500)
    return LanguageModelEvaluator(TextSpec(f"text:{path}"), TRAIN, device="cpu", threads=1)


def cell(evaluator):
    return parse(CELL.format(v=evaluator.num_classes))


def same(a, b):
    return dataclasses.replace(a, seconds=0.0) == dataclasses.replace(b, seconds=0.0)


def test_perplexity_falls_with_training_and_is_seeded(evaluator):
    arch = cell(evaluator)
    torch.manual_seed(5)
    untrained = build(arch, (1, 1, 1), evaluator.num_classes, BuildOptions(dropout=0.0))
    start = perplexity(untrained, batchify(evaluator.corpus.valid, 10), 20)
    assert start > 0.6 * evaluator.num_classes  # about a uniform guess over the characters
    result = evaluator.evaluate(arch, seed=5)
    ppl = result.extra["val_ppl_curve"]
    assert result.status is TrialStatus.OK and len(ppl) == 3
    assert ppl[0] < start and ppl[-1] < ppl[0] and ppl[-1] < start / 3, (start, ppl)
    assert result.val_curve == tuple(80.0 / p for p in ppl)  # c / perplexity, c = 80
    assert result.val_acc == max(result.val_curve) and result.extra["val_ppl"] == min(ppl)
    assert result.params == rnn_plan(arch).params() and result.flops > 0
    assert same(evaluator.evaluate(arch, seed=5), result)
    assert not same(evaluator.evaluate(arch, seed=6), result)


def test_word_level_ptb(tmp_path):
    spec = TextSpec("ptb", str(write_ptb(tmp_path, words=2000)))
    words = LanguageModelEvaluator(spec, dataclasses.replace(TRAIN, epochs=2), device="cpu")
    assert words.corpus.level == "word" and words.num_classes == 13  # 12 words and <eos>
    result = words.evaluate(parse(CELL.format(v=13)), seed=0)
    assert result.ok and result.extra["val_ppl"] < 8  # the chain allows two next words


def test_pickled_evaluators_reload_the_text_and_give_the_same_results(evaluator):
    blob = pickle.dumps(evaluator)
    assert len(blob) < 10_000  # the corpus stays behind: a worker reloads it from the spec
    copy = pickle.loads(blob)
    assert copy.fingerprint == evaluator.fingerprint
    assert torch.equal(copy.corpus.train, evaluator.corpus.train)
    arch = cell(evaluator)
    assert same(copy.evaluate(arch, seed=1), evaluator.evaluate(arch, seed=1))
    carried = pickle.loads(pickle.dumps(evaluator.with_data()))
    assert torch.equal(carried.corpus.test, evaluator.corpus.test)
    other = LanguageModelEvaluator(
        evaluator.data, dataclasses.replace(TRAIN, bptt=10), device="cpu"
    )
    assert other.fingerprint != evaluator.fingerprint


def test_a_diverging_model_fails_with_the_reason(evaluator):
    wild = LanguageModelEvaluator(
        evaluator.data, dataclasses.replace(TRAIN, optimizer="sgd", learning_rate=1e5,
                                            max_grad_norm=1e5), device="cpu",
    )  # fmt: skip
    result = wild.evaluate(parse(CELL.format(v=wild.num_classes).replace("TANH", "RELU")), 0)
    assert result.status is TrialStatus.FAILED and "diverged" in result.error
    assert result.val_acc == 1 / wild.num_classes


def test_final_reports_test_perplexity_beside_the_equal_size_lstm(evaluator, tmp_path):
    arch = cell(evaluator)
    score = evaluator.final(arch, seed=3, epochs=2, save_to=tmp_path / "m.pt")
    m = score.metrics
    assert set(m) == {"test_ppl", "params", "lstm_test_ppl", "lstm_params", "lstm_hidden"}
    assert score.test_acc == pytest.approx(80.0 / m["test_ppl"]) and m["test_ppl"] < 8
    assert m["params"] == rnn_plan(arch).params()
    assert m["lstm_params"] == rnn_plan(equal_size_lstm(arch)).params()
    assert abs(m["lstm_params"] - m["params"]) < 0.05 * m["params"]
    assert 1 < m["lstm_test_ppl"] < 12
    other = parse(CELL.format(v=evaluator.num_classes).replace("SIGM(1)", "IDENT(2)"))
    second = evaluator.final(other, seed=4, epochs=2)
    assert second.metrics["lstm_test_ppl"] == m["lstm_test_ppl"]  # one baseline per run
    model = build(arch, (1, 1, 1), evaluator.num_classes, BuildOptions(dropout=0.0))
    model.load_state_dict(torch.load(tmp_path / "m.pt"))
    assert evaluator.test_perplexity(model) == pytest.approx(m["test_ppl"])


def shared(evaluator, seed=0):
    space = make_space(
        "rnn-cell", input_shape=(1, 1, 1), num_classes=evaluator.num_classes,
        overrides={"num_nodes": 3, "embedding_size": 8, "hidden_size": 16},
    )  # fmt: skip
    wanted = SharedTrainConfig(child_batch_size=8, explicit=frozenset({"child_batch_size"}))
    return space, evaluator.shared_weights(space, wanted, seed=seed)


def test_shared_weights_are_shared_by_the_cells_that_use_them(evaluator):
    _, weights = shared(evaluator)
    assert weights.config.child_lr_max == 20.0  # unset settings: ENAS's recurrent ones
    v = evaluator.num_classes
    a = parse(f"[CELL(8,16), TANH(0), RELU(1), SIGM(1), LM({v})]")  # node 3 reads node 1
    b = parse(f"[CELL(8,16), RELU(0), TANH(1), IDENT(1), LM({v})]")  # so does this one
    c = parse(f"[CELL(8,16), TANH(0), RELU(1), SIGM(2), LM({v})]")  # node 3 reads node 2
    edges = weights.net.rnn.edges
    shared_edge, other_edge = edges["n3_from1"].weight, edges["n3_from2"].weight

    def moved(step_arch):
        before = {k: p.detach().clone() for k, p in weights.net.named_parameters()}
        weights.train_step(step_arch)
        return {k for k, p in weights.net.named_parameters() if not torch.equal(p, before[k])}

    assert "rnn.edges.n3_from1.weight" in moved(a)
    changed_by_c = moved(c)
    assert "rnn.edges.n3_from2.weight" in changed_by_c
    assert not {k for k in changed_by_c if "n3_from1" in k}  # c does not touch a's edge
    assert "rnn.edges.n3_from1.weight" in moved(b)  # b updates the tensor a trained
    assert (
        weights.net.child_state_dict(a)["rnn.edges.n3_from1.weight"].data_ptr()
        == (weights.net.child_state_dict(b)["rnn.edges.n3_from1.weight"].data_ptr())
        == shared_edge.data_ptr()
        != other_edge.data_ptr()
    )
    scores = [weights.score(x) for x in (a, b, c)]
    assert all(0 < s < 80 for s in scores)
    assert weights.validate(a, 2) == weights.validate(a, 2)  # the same text every time


def test_shared_weights_restore_exactly(evaluator):
    space, weights = shared(evaluator, seed=1)
    rng = np.random.default_rng(0)
    children = [space.sample(rng)[0] for _ in range(8)]
    for arch in children[:3]:
        weights.train_step(arch)
    weights.score(children[0])
    saved = pickle.loads(pickle.dumps(weights.state_dict()))
    after = [weights.train_step(x) for x in children[3:]] + [weights.score(children[1])]
    _, fresh = shared(evaluator, seed=1)
    fresh.load_state_dict(saved)
    assert [fresh.train_step(x) for x in children[3:]] + [fresh.score(children[1])] == after
