"""Evaluation: the evaluator contract (:mod:`~rlnas.evaluation.base`), rewards, costs,
early stopping, the tabular and fake evaluators, and the evaluators that train on data:
:mod:`~rlnas.evaluation.image` and :mod:`~rlnas.evaluation.text`, on the one base of
:mod:`~rlnas.evaluation.training`. Importing this package loads no torch."""
