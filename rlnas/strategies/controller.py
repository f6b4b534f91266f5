"""The NAS-RL controller (Zoph & Le 2017): an LSTM that emits an architecture action by
action on any :class:`~rlnas.spaces.SearchSpace`, and its REINFORCE update.

At each step the LSTM reads the embedding of the previous action (and, optionally, the
space's encoding of the current state), and a linear layer scores every action of the
space's vocabulary; illegal actions are masked out before the softmax, so no illegal
action is ever sampled. At a :class:`~rlnas.spaces.LinkDecision` step (should an earlier
node feed the current one?) the controller uses Zoph & Le's anchor-point attention instead:
``P(link) = sigmoid(v . tanh(W_prev h_anchor + W_curr h_t))``, where ``h_anchor`` is its
output at the step that created the earlier node. Nothing here knows a particular space,
so the same controller serves MetaQNN's layers, ENAS's macro networks and recurrent cells.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn

from rlnas.nn.state import to_numpy, to_torch
from rlnas.spaces.base import LinkDecision, SearchSpace

__all__ = ["Controller", "PolicyGradient", "PolicyOutput", "UpdateStats"]

Episode = tuple[int, ...]


@contextmanager
def single_thread() -> Iterator[None]:
    """Run torch on one thread: the controller's tensors are tiny, and on a busy machine
    waking a thread pool for each of them made sampling and updates ~5-10x slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class PolicyOutput(NamedTuple):
    """Per-episode sums over the steps of one batch of episodes."""

    log_prob: Tensor  # (B,) log-probability of the whole action sequence
    entropy: Tensor  # (B,) summed entropy of the step distributions
    link_kl: Tensor  # (B,) summed KL(P(link) || skip_target) over link steps


class Controller(nn.Module):
    """A ``num_layers``-layer LSTM of ``hidden_size`` units over the actions of ``space``.

    ``tanh_constant`` c and ``temperature`` T (ENAS) turn logits l into c * tanh(l / T),
    which keeps the policy from saturating early. Weights start uniform in
    ``[-init_range, init_range]`` (Zoph & Le: 0.08), drawn from a generator seeded ``seed``.
    """

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        hidden_size: int = 35,
        num_layers: int = 2,
        feed_state: bool = False,
        tanh_constant: float | None = None,
        temperature: float | None = None,
        skip_target: float = 0.4,
        init_range: float = 0.08,
        seed: int = 0,
    ) -> None:
        super().__init__()
        if hidden_size < 1 or num_layers < 1:
            raise ValueError("hidden_size and num_layers must be at least 1")
        if not 0 < skip_target < 1:
            raise ValueError(f"skip_target must be in (0, 1), got {skip_target}")
        self.space = space
        self.vocab = len(space.vocabulary)
        self.feed_state = feed_state
        self.tanh_constant, self.temperature = tanh_constant, temperature
        self.skip_target = skip_target
        self.embed = nn.Embedding(self.vocab + 1, hidden_size)  # the last row: start token
        width = len(space.encode(space.initial_state())) if feed_state else 0
        self.state_in = nn.Linear(width, hidden_size) if feed_state else None
        # a stack of cells: for one step at a time ~2x faster than nn.LSTM's fused kernel
        self.lstm = nn.ModuleList(nn.LSTMCell(hidden_size, hidden_size) for _ in range(num_layers))
        self.decoder = nn.Linear(hidden_size, self.vocab)
        self.w_prev = nn.Linear(hidden_size, hidden_size, bias=False)  # anchor attention
        self.w_curr = nn.Linear(hidden_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-init_range, init_range, generator=generator)
        # the space is pure, so what it says about a state can be kept: a converged policy
        # revisits the same states, and asking the space is most of a step's Python work
        self._rules: dict[Any, tuple[np.ndarray, LinkDecision | None]] = {}

    def _rules_of(self, state: Any) -> tuple[np.ndarray, LinkDecision | None]:
        """The legal-action mask of ``state`` over the vocabulary, and its link decision."""
        rules = self._rules.get(state)
        if rules is None:
            if len(self._rules) >= 100_000:
                self._rules.clear()
            space = self.space
            rules = (space.action_mask(state), space.link_decision(state))
            self._rules[state] = rules
        return rules

    def sample(self, count: int, generator: torch.Generator) -> list[Episode]:
        """``count`` action sequences from the current policy (legal by construction)."""
        with torch.no_grad(), single_thread():
            return self._unroll(count, None, generator)[0]

    def evaluate(self, episodes: Sequence[Episode]) -> PolicyOutput:
        """Log-probabilities, entropies and link KLs of ``episodes``, differentiable."""
        with single_thread():
            return self._unroll(len(episodes), episodes, None)[1]

    def _squash(self, logits: Tensor) -> Tensor:
        if self.temperature is not None:
            logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def _unroll(
        self,
        count: int,
        given: Sequence[Episode] | None,
        generator: torch.Generator | None,
    ) -> tuple[list[Episode], PolicyOutput]:
        """Run ``count`` episodes step by step: sample actions, or follow ``given`` ones."""
        space = self.space
        states = [space.initial_state()] * count
        taken: list[list[int]] = [[] for _ in range(count)]
        done = [space.is_terminal(s) for s in states]
        prev = torch.full((count,), self.vocab, dtype=torch.long)  # start token
        zeros = torch.zeros(count, self.embed.embedding_dim)
        carry = [(zeros, zeros) for _ in self.lstm]  # (h, c) per layer
        outputs: list[Tensor] = []  # (B, H) per step: the anchors
        log_prob = entropy = link_kl = torch.zeros(count)
        t = 0
        while not all(done):
            x = self.embed(prev)  # (B, H)
            if self.state_in is not None:
                codes = np.stack([space.encode(s) for s in states])  # (B, state width)
                x = x + self.state_in(torch.from_numpy(codes))
            for layer, cell in enumerate(self.lstm):
                carry[layer] = cell(x, carry[layer])
                x = carry[layer][0]
            outputs.append(x)  # (B, H): the top layer's output
            step = self._step(outputs, states, done)
            if given is None:
                probs = step.log_probs.detach().exp()
                action = torch.multinomial(probs, 1, generator=generator).squeeze(1)
            else:
                action = self._given(given, done, t, step.legal)
            active = torch.tensor([not d for d in done])
            step_log_prob = step.log_probs.gather(1, action.unsqueeze(1)).squeeze(1)
            log_prob = log_prob + torch.where(active, step_log_prob, 0.0)
            entropy = entropy + torch.where(active, step.entropy, 0.0)
            if step.link_rows is not None and step.link_kl is not None:
                link_kl = link_kl.index_add(0, step.link_rows, step.link_kl)
            for b, a in enumerate(action.tolist()):
                if not done[b]:
                    taken[b].append(a)
                    states[b] = space.step(states[b], a)
                    done[b] = space.is_terminal(states[b])
            prev = action
            t += 1
        episodes = [tuple(actions) for actions in taken]
        return episodes, PolicyOutput(log_prob, entropy, link_kl)

    def _step(self, outputs: list[Tensor], states: list[Any], done: list[bool]) -> _Step:
        """The action distribution of every episode at this step (``outputs[-1]``)."""
        h = outputs[-1]  # (B, H)
        count = len(states)
        logits = self._squash(self.decoder(h))  # (B, V)
        mask = np.zeros((count, self.vocab), dtype=bool)
        rows, anchors, links, no_links = [], [], [], []
        for b in range(count):
            if done[b]:
                mask[b, 0] = True  # a finished episode idles on a dummy action
                continue
            mask[b], decision = self._rules_of(states[b])
            if decision is not None:
                rows.append(b)
                anchors.append(outputs[decision.source_step][b])
                links.append(decision.link)
                no_links.append(decision.no_link)
        legal = torch.from_numpy(mask)
        link_rows = link_kl = None
        if rows:  # anchor-point attention: P(link) = sigmoid(v . tanh(W a + W' h))
            link_rows, n = torch.tensor(rows), torch.arange(len(rows))
            anchor = torch.stack(anchors)  # (n, H)
            score = self.v(torch.tanh(self.w_prev(anchor) + self.w_curr(h[link_rows])))
            score = self._squash(score.squeeze(-1))  # (n,) logit of linking
            pair = torch.full((len(rows), self.vocab), -math.inf)
            pair[n, torch.tensor(no_links)] = 0.0
            pair = pair.index_put((n, torch.tensor(links)), score)  # (n, V)
            logits = logits.index_put((link_rows,), pair)
            p, q = torch.sigmoid(score).clamp(1e-6, 1 - 1e-6), self.skip_target
            link_kl = p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))  # (n,)
        log_probs = torch.log_softmax(logits.masked_fill(~legal, -math.inf), dim=-1)  # (B, V)
        entropy = -(log_probs.exp() * log_probs.masked_fill(~legal, 0.0)).sum(-1)  # (B,)
        return _Step(log_probs, legal, entropy, link_rows, link_kl)

    @staticmethod
    def _given(given: Sequence[Episode], done: list[bool], t: int, legal: Tensor) -> Tensor:
        """The actions ``given`` take at step ``t``, checked to be legal."""
        try:
            action = torch.tensor([0 if done[b] else given[b][t] for b in range(len(done))])
        except IndexError:
            raise ValueError(f"an episode ends before a terminal state (step {t})") from None
        if not bool(legal.gather(1, action.unsqueeze(1)).all()):
            raise ValueError(f"an episode takes an illegal action at step {t}")
        return action


class _Step(NamedTuple):
    """The controller's distribution at one step, for a batch of B episodes."""

    log_probs: Tensor  # (B, V), -inf on illegal actions
    legal: Tensor  # (B, V) bool
    entropy: Tensor  # (B,)
    link_rows: Tensor | None  # (n,) the episodes at a link step
    link_kl: Tensor | None  # (n,) KL(P(link) || skip_target) of those


@dataclass(frozen=True)
class UpdateStats:
    """What one REINFORCE update saw and did."""

    loss: float
    mean_reward: float
    #: The baseline the advantages were measured against (before this batch moved it).
    baseline: float
    entropy: float
    link_kl: float


class PolicyGradient:
    """REINFORCE with an exponential-moving-average baseline (Zoph & Le 2017):

        loss = -mean_k[(R_k - b) log P(a_k)] - ent_coef * mean_k[H_k] + skip_weight * mean_k[KL_k]

    over a batch of m episodes, then one Adam step; ``max_grad_norm`` clips the gradient.
    The baseline starts at the first batch's mean reward and then follows every reward in
    order: ``b <- baseline_decay * b + (1 - baseline_decay) * R``. ``skip_weight`` (ENAS)
    pulls the link probability towards the controller's ``skip_target``.
    """

    def __init__(
        self,
        controller: Controller,
        *,
        learning_rate: float,
        ent_coef: float = 0.0,
        baseline_decay: float = 0.95,
        max_grad_norm: float | None = None,
        skip_weight: float = 0.0,
    ) -> None:
        if not learning_rate > 0 or not 0 <= baseline_decay < 1 or ent_coef < 0 or skip_weight < 0:
            raise ValueError(
                "need learning_rate > 0, 0 <= baseline_decay < 1, ent_coef >= 0 and "
                "skip_weight >= 0"
            )
        self.controller = controller
        self.ent_coef, self.baseline_decay = ent_coef, baseline_decay
        self.max_grad_norm, self.skip_weight = max_grad_norm, skip_weight
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=learning_rate, foreach=True)
        self.baseline: float | None = None

    def update(self, episodes: Sequence[Episode], rewards: Sequence[float]) -> UpdateStats:
        """One policy-gradient step on ``episodes`` with their ``rewards``."""
        if len(episodes) != len(rewards) or not episodes:
            raise ValueError("need one reward per episode, and at least one episode")
        reward = torch.tensor(rewards, dtype=torch.float32)  # (m,)
        baseline = float(reward.mean()) if self.baseline is None else self.baseline
        out = self.controller.evaluate(episodes)
        advantage = reward - baseline  # (m,)
        loss = (
            -(advantage * out.log_prob).mean()
            - self.ent_coef * out.entropy.mean()
            + self.skip_weight * out.link_kl.mean()
        )
        with single_thread():
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if self.max_grad_norm is not None:
                nn.utils.clip_grad_norm_(self.controller.parameters(), self.max_grad_norm)
            self.optimizer.step()
        b = baseline
        for r in rewards:
            b = self.baseline_decay * b + (1 - self.baseline_decay) * float(r)
        self.baseline = b
        return UpdateStats(
            float(loss.detach()), float(reward.mean()), baseline,
            float(out.entropy.detach().mean()), float(out.link_kl.detach().mean()),
        )  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """Controller weights, optimiser state and baseline, with tensors copied to numpy
        arrays (which pickle ~6x faster than tensors: the loop stores this every trial)."""
        return {
            "controller": to_numpy(self.controller.state_dict()),
            "optimizer": to_numpy(self.optimizer.state_dict()),
            "baseline": self.baseline,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.controller.load_state_dict(to_torch(state["controller"]))
        self.optimizer.load_state_dict(to_torch(state["optimizer"]))
        self.baseline = state["baseline"]
