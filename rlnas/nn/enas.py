"""ENAS macro networks: the standalone network of one architecture and the super-network
that holds every operation of every node with shared weights (Pham et al. 2018).

Both are made of the same modules under the same names, and run one forward function,
:func:`run_macro`, so a child's weights are a subset of the super-network's: a standalone
child loaded with the super-network's tensors computes exactly what the super-network
computes for that child (with batch norm in training mode).

Batch norm ([+ BN] below) is on unless ``BuildOptions.batch_norm`` is False.

- ``stem``: 3x3 conv to the first width [+ BN]
- ``nodes.{i}.{op}``: the operation of node ``i`` (``conv3``, ``sep5``, ``max3``, ...);
  convolutions are ReLU-conv[-BN] as in ENAS, pooling has no parameters
- ``reductions.{r}``: ReLU, 1x1 conv to the next width [+ BN], 2x2 average pooling
- ``adapters.{r}_{j}``: the same, for node ``j``'s output when a later stage reads it
- ``head``: ReLU, global average pooling, [dropout], linear

>>> import torch
>>> from rlnas.arch import parse
>>> net = build_enas(parse("[STEM(8), CONV(3,0), SEP(5,0), RED(16), MAXP(3,1), HEAD(10)]"),
...                  (1, 8, 8), 10, BuildOptions())
>>> net(torch.zeros(2, 1, 8, 8)).shape
torch.Size([2, 10])
>>> sorted(name for name, _ in net.named_children())
['adapters', 'head', 'nodes', 'reductions', 'stem']
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, cast

from torch import Tensor, nn

from rlnas.arch import Architecture
from rlnas.arch.enas import EnasPlan, make_node, plan
from rlnas.nn.builder import register_builder
from rlnas.nn.options import BuildOptions
from rlnas.nn.supernet import register_supernet

__all__ = ["EnasNetwork", "EnasSuperNet", "build_enas", "make_op", "run_macro"]


def _bn(width: int, batch_norm: bool, track: bool) -> list[nn.Module]:
    return [nn.BatchNorm2d(width, track_running_stats=track)] if batch_norm else []


def make_op(op: str, width: int, *, batch_norm: bool, track: bool = True) -> nn.Module:
    """The module of operation ``op`` (e.g. ``"sep5"``) on ``width`` channels, same size."""
    node = make_node(op)
    k, pad = node.kernel, node.kernel // 2
    if node.kind == "conv":
        conv: list[nn.Module] = [nn.Conv2d(width, width, k, padding=pad, bias=not batch_norm)]
    elif node.kind == "sep":
        conv = [
            nn.Conv2d(width, width, k, padding=pad, groups=width, bias=False),  # depthwise
            nn.Conv2d(width, width, 1, bias=not batch_norm),  # pointwise
        ]
    elif node.kind == "max":
        return nn.MaxPool2d(k, 1, pad)
    else:
        return nn.AvgPool2d(k, 1, pad, count_include_pad=False)
    return nn.Sequential(nn.ReLU(), *conv, *_bn(width, batch_norm, track))


def _reduction(width_in: int, width_out: int, batch_norm: bool, track: bool) -> nn.Module:
    # (B, w_in, H, W) -> (B, w_out, ceil(H/2), ceil(W/2))
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(width_in, width_out, 1, bias=not batch_norm),
        *_bn(width_out, batch_norm, track),
        nn.AvgPool2d(2, 2, ceil_mode=True),
    )


def _stem(channels: int, width: int, batch_norm: bool, track: bool) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1, bias=not batch_norm),
        *_bn(width, batch_norm, track),
    )


def _head(width: int, classes: int, dropout: float) -> nn.Module:
    drop = [nn.Dropout(dropout)] if dropout > 0 else []
    # (B, width, H, W) -> (B, classes)
    return nn.Sequential(
        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), *drop, nn.Linear(width, classes)
    )


def _adapted(dag: EnasPlan) -> list[tuple[int, int]]:
    """(reduction, node) pairs whose adapter ``dag`` uses: node j's output crosses
    reduction r to reach a later skip, and j is not the node right before it (whose
    reduced output is the reduction's own)."""
    pairs = []
    for stage in range(1, dag.num_stages):
        before = dag.first_of_stage(stage) - 1
        pairs += [(stage - 1, j) for j in dag.needed_after(stage) if j != before]
    return pairs


def run_macro(
    x: Tensor,
    dag: EnasPlan,
    stem: nn.Module,
    op: Callable[[int, str], nn.Module],
    reduction: Callable[[int], nn.Module],
    adapter: Callable[[int, int], nn.Module],
    head: nn.Module,
) -> Tensor:
    """The forward pass of a macro network: ``(B, C, H, W)`` images to ``(B, classes)``.

    ``op(i, name)`` is node i's module for operation ``name``; ``reduction(r)`` the r-th
    reduction; ``adapter(r, j)`` brings node j's output across reduction r.
    """
    prev = stem(x)  # (B, w0, H, W)
    outputs: list[Tensor | None] = []  # node outputs at the current stage's size
    for i, node in enumerate(dag.nodes):
        stage = dag.stages[i]
        if i and stage != dag.stages[i - 1]:
            needed = set(dag.needed_after(stage))
            for j in range(i - 1):
                kept = outputs[j]
                keep = kept is not None and j in needed
                outputs[j] = adapter(stage - 1, j)(kept) if keep else None
            prev = reduction(stage - 1)(prev)  # (B, w_s, ceil(H/2), ceil(W/2))
            outputs[i - 1] = prev if i - 1 in needed else None
        out = op(i, node.op)(prev)
        for j in node.sources:
            skip = outputs[j]
            assert skip is not None  # plan() guarantees j < i - 1; needed_after kept it
            out = out + skip
        outputs.append(out)
        prev = out
    return cast(Tensor, head(prev))


class EnasNetwork(nn.Module):
    """One macro architecture as a standalone network (only the modules it uses)."""

    def __init__(
        self, arch: Architecture, input_shape: Sequence[int], options: BuildOptions
    ) -> None:
        super().__init__()
        dag = plan(arch)
        self.arch, self.dag, self.input_shape = arch, dag, tuple(input_shape)
        # ENAS's operations are ReLU-conv-BN: batch norm unless the options turn it off
        bn, widths = options.batch_norm is not False, dag.widths
        self.stem = _stem(input_shape[0], widths[0], bn, True)
        self.nodes = nn.ModuleList(
            nn.ModuleDict({n.op: make_op(n.op, widths[s], batch_norm=bn)})
            for n, s in zip(dag.nodes, dag.stages, strict=True)
        )
        self.reductions = nn.ModuleList(
            _reduction(widths[r], widths[r + 1], bn, True) for r in range(len(widths) - 1)
        )
        self.adapters = nn.ModuleDict(
            {f"{r}_{j}": _reduction(widths[r], widths[r + 1], bn, True) for r, j in _adapted(dag)}
        )
        self.head = _head(widths[-1], dag.classes, options.dropout)

    def forward(self, x: Tensor) -> Tensor:
        # (B, C, H, W) -> (B, num_classes) logits
        return run_macro(
            x, self.dag, self.stem,
            lambda i, name: cast(nn.ModuleDict, self.nodes[i])[name],
            lambda r: self.reductions[r],
            lambda r, j: self.adapters[f"{r}_{j}"],
            self.head,
        )  # fmt: skip

    def extra_repr(self) -> str:
        return f"arch={self.arch}, input_shape={self.input_shape}"


def build_enas(
    arch: Architecture, input_shape: Sequence[int], num_classes: int, options: BuildOptions
) -> nn.Module:
    """The registered builder of the ``enas`` family (see :func:`rlnas.nn.build`)."""
    if len(input_shape) != 3 or min(input_shape) < 1:
        raise ValueError(f"input_shape must be three positive ints (C, H, W), got {input_shape}")
    return EnasNetwork(arch, input_shape, options)


class EnasSuperNet(nn.Module):
    """Every operation of every node of an ``enas-macro`` space, with shared weights.

    ``forward(x, arch)`` runs child ``arch`` of the space. Batch norm (always on here, as
    in ENAS) normalises with the statistics of the current batch, in training and in
    evaluation alike, since running statistics shared by different children mean nothing.
    """

    def __init__(
        self,
        num_layers: int,
        filters: Sequence[int],
        ops: Sequence[str],
        input_shape: Sequence[int],
        num_classes: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_layers, self.widths, self.ops = num_layers, tuple(filters), tuple(ops)
        self.num_classes = num_classes
        stages = [i * len(self.widths) // num_layers for i in range(num_layers)]
        self.stages = tuple(stages)
        widths = self.widths
        self.stem = _stem(input_shape[0], widths[0], True, False)
        self.nodes = nn.ModuleList(
            nn.ModuleDict({op: make_op(op, widths[s], batch_norm=True, track=False) for op in ops})
            for s in stages
        )
        self.reductions = nn.ModuleList(
            _reduction(widths[r], widths[r + 1], True, False) for r in range(len(widths) - 1)
        )
        adapters = {}
        for r in range(len(widths) - 1):
            first = stages.index(r + 1)
            for j in range(first - 1):
                adapters[f"{r}_{j}"] = _reduction(widths[r], widths[r + 1], True, False)
        self.adapters = nn.ModuleDict(adapters)
        self.head = _head(widths[-1], num_classes, dropout)

    @classmethod
    def from_space(
        cls, space: dict[str, Any], input_shape: Sequence[int], num_classes: int
    ) -> EnasSuperNet:
        """The super-network of the space whose :meth:`SearchSpace.config` is ``space``."""
        return cls(space["num_layers"], space["filters"], space["ops"], input_shape, num_classes)

    def plan(self, arch: Architecture) -> EnasPlan:
        """``plan(arch)``, checked to be a child of this super-network (else ValueError)."""
        return _child_plan(self, arch)

    def forward(self, x: Tensor, arch: Architecture) -> Tensor:
        # (B, C, H, W) -> (B, num_classes) logits of child `arch`
        return run_macro(
            x, self.plan(arch), self.stem,
            lambda i, name: cast(nn.ModuleDict, self.nodes[i])[name],
            lambda r: self.reductions[r],
            lambda r, j: self.adapters[f"{r}_{j}"],
            self.head,
        )  # fmt: skip

    def child_state_dict(self, arch: Architecture) -> dict[str, Tensor]:
        """The shared tensors child ``arch`` uses, under its standalone network's names."""
        channels = cast(nn.Conv2d, cast(nn.Sequential, self.stem)[0]).in_channels
        wanted = set(EnasNetwork(arch, (channels, 8, 8), _CHILD).state_dict())
        return {k: v for k, v in self.state_dict().items() if k in wanted}


_CHILD = BuildOptions(batch_norm=True, dropout=0.0)


@lru_cache(maxsize=4096)
def _cached_plan(arch: Architecture) -> EnasPlan:
    return plan(arch)


def _child_plan(net: EnasSuperNet, arch: Architecture) -> EnasPlan:
    dag = _cached_plan(arch)
    if (
        len(dag.nodes) != net.num_layers
        or dag.stages != net.stages
        or dag.widths != net.widths
        or dag.classes != net.num_classes
        or any(node.op not in net.ops for node in dag.nodes)
    ):
        raise ValueError(f"{arch} is not a child of this super-network")
    return dag


register_builder("enas", build_enas)
register_supernet("enas", EnasSuperNet.from_space)
