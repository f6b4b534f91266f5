"""Deep meta-RL (Wang et al. 2016, "Learning to reinforcement learn"), as seed 001 applies
it to NAS: an LSTM policy trained with A2C across many episodes, whose memory lets it adapt
to the data set it is searching on.

At every step the LSTM (``hidden_size`` = 128 units) is fed ``[x_t, a_{t-1}, r_{t-1}, c_t]``:
the observation ``space.encode(state)``, the previous action one-hot, the previous raw
reward and the time step within the episode (``t / horizon``). Two linear heads give the
policy logits (illegal actions masked out) and the value.

Update rule (A2C with n-step returns): every ``n_steps`` (5) steps, with
``R_t = r_t + gamma R_{t+1}`` (``R = V(s_{t+n})`` after the last step; an episode's last
step returns its reward alone)::

    loss = -mean(log pi(a_t|s_t) (R_t - V(s_t))) + vf_coef mean((R_t - V(s_t))^2)
           - ent_coef mean(H(pi(.|s_t)))

RMSProp (``learning_rate`` 1e-3, alpha 0.99, eps 1e-5), gradients clipped to
``max_grad_norm`` 0.5, ``ent_coef`` 0.01, ``vf_coef`` 0.5: the seed's values. Three
deliberate differences, each a setting (measured in ``docs/architecture.md``):

* ``gamma`` defaults to 1.0, not the seed's 0.9. NasGym paid a reward at every step; here
  the reward comes once, at the end, and a per-layer discount makes every layer cost 10%
  of it (a 10-layer network must be 2.6x as accurate as a head-only one): with 0.9 the
  policy collapsed to one-layer networks on the fake evaluator.
* ``normalize_rewards``: the terminal reward enters the returns standardised by the running
  mean and standard deviation of the rewards seen on this data set (the LSTM is still fed
  the raw reward). Accuracies differ by hundredths; raw, they drown in the entropy bonus
  and the value baseline takes hundreds of updates to reach their level.
* ``novel_tries``: the budget counts unique networks, so when a rollout repeats a network
  already proposed on this data set it is rolled out again from the same memory, up to
  ``novel_tries`` (10) times; if all repeat, one last rollout picks uniformly among the
  legal actions (evaluated and remembered, but not trained on: it is not the policy's).
  ``novel_tries = 0`` restores plain sampling (a converged policy then replays one
  network until the search loop stops it).

Two things the original code got wrong are done right here: the LSTM state (and the
previous action and reward) is carried across episodes on the same data set and reset only
by :meth:`MetaA2C.reset_memory` (when the data set changes); and each update re-runs the
LSTM from the state it had when acting, on the very inputs it was fed when acting, so the
previous reward it trains on is the raw reward it acted on.

Ask/tell: :meth:`propose` rolls out one masked episode (the terminal reward is unknown, so
the first step of the next episode is fed 0 if it is proposed before the last is
observed); :meth:`observe` supplies the terminal reward and runs every update whose
``n_steps`` rewards are now known. ``frozen=True`` acts without updates (deploying a
meta-trained policy); ``policy=PATH`` starts from a file written by :func:`save_policy`.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from rlnas.arch import Architecture, Layer
from rlnas.spaces.base import SearchSpace
from rlnas.strategies.base import Feedback, Proposal, Strategy

if TYPE_CHECKING:
    from rlnas.strategies.meta_a2c_net import MetaA2CPolicy

# torch is imported inside the methods: `rlnas show` lists runs without paying for it.

__all__ = ["POLICY_FORMAT", "MetaA2C", "action_names", "save_policy"]

#: Format tag of policy files.
POLICY_FORMAT = "rlnas.meta-a2c.v1"
#: Logit of an illegal action: finite, so masked entropies stay free of NaN.
_MASKED = -1e9


class _Step(NamedTuple):
    """One action as taken: everything an update needs to replay it exactly."""

    inputs: np.ndarray  # (D,) what the LSTM was fed
    hidden: tuple[np.ndarray, np.ndarray]  # LSTM state before this step, (1, H) each
    action: int
    mask: np.ndarray  # (A,) legal actions
    reward: float | None  # None until the episode's terminal reward is observed
    done: bool  # the last step of its episode


def action_names(space: SearchSpace[Any]) -> list[str]:
    """The vocabulary as strings with class counts blanked: a policy transfers between
    spaces (data sets) whose action names are equal."""
    names = []
    for token in space.vocabulary:
        if isinstance(token, Layer) and any(f.name == "classes" for f in dataclasses.fields(token)):
            token = dataclasses.replace(token, classes=0)  # type: ignore[call-arg]
        names.append(str(token))
    return names


class MetaA2C(Strategy):
    name = "meta-a2c"

    def __init__(
        self,
        space: SearchSpace[Any],
        *,
        budget: int,
        seed: int,
        n_steps: int = 5,
        gamma: float = 1.0,
        ent_coef: float = 0.01,
        vf_coef: float = 0.5,
        learning_rate: float = 1e-3,
        max_grad_norm: float = 0.5,
        hidden_size: int = 128,
        normalize_rewards: bool = True,
        novel_tries: int = 10,
        policy: str | None = None,
        frozen: bool = False,
    ) -> None:
        super().__init__(space, budget=budget, seed=seed)
        if n_steps < 1 or not 0 <= gamma <= 1 or learning_rate <= 0 or hidden_size < 1:
            raise ValueError(
                "need n_steps >= 1, 0 <= gamma <= 1, learning_rate > 0 and hidden_size >= 1"
            )
        self.n_steps, self.gamma, self.ent_coef, self.vf_coef = n_steps, gamma, ent_coef, vf_coef
        self.learning_rate, self.max_grad_norm = learning_rate, max_grad_norm
        self.frozen = bool(frozen)
        self.normalize_rewards = normalize_rewards
        self.novel_tries = novel_tries
        self.seen: set[str] = set()  # networks proposed on this data set
        self.reward_stats = (0, 0.0, 0.0)  # Welford: count, mean, sum of squared deviations
        self.rng = np.random.default_rng(seed)
        import torch

        from rlnas.strategies.meta_a2c_net import MetaA2CPolicy

        obs_size = len(space.encode(space.initial_state()))
        self.model: MetaA2CPolicy
        with torch.random.fork_rng():  # seeded initialisation, global RNG untouched
            torch.manual_seed(seed)
            self.model = MetaA2CPolicy(obs_size, len(space.vocabulary), hidden_size)
        self.policy_info: dict[str, Any] = {}
        if policy is not None:
            self.load_policy(policy)
        self.optimizer = torch.optim.RMSprop(
            self.model.parameters(), lr=learning_rate, alpha=0.99, eps=1e-5
        )
        self.buffer: list[_Step] = []
        self.pending: list[tuple[tuple[int, ...], int]] = []  # (actions, index of last step)
        self.episodes = self.updates = self.steps = 0
        self.reset_memory()

    # ------------------------------------------------------------------ memory

    def reset_memory(self) -> None:
        """Forget the current data set: train on what is left of the buffer, then zero the
        LSTM state, the previous action and the previous reward."""
        if not self.frozen and self.buffer and all(s.reward is not None for s in self.buffer):
            self._update(self.buffer, bootstrap=None)
        self.buffer, self.pending = [], []
        import torch

        size = self.model.hidden_size
        self.hidden = (torch.zeros(1, size), torch.zeros(1, size))
        self.prev_action: int | None = None
        self.prev_reward = 0.0
        self.seen = set()
        self.reward_stats = (0, 0.0, 0.0)

    def set_space(self, space: SearchSpace[Any]) -> None:
        """Switch to another data set's space (same action names): memory is reset."""
        if action_names(space) != action_names(self.space):
            raise ValueError(f"space {space.name} has other actions than {self.space.name}")
        self.reset_memory()
        self.space = space

    # ------------------------------------------------------------------ acting

    def _inputs(self, obs: np.ndarray, t: int) -> np.ndarray:
        previous = np.zeros(self.model.num_actions, dtype=np.float32)
        if self.prev_action is not None:
            previous[self.prev_action] = 1.0
        extra = np.array([self.prev_reward, t / self.space.horizon], dtype=np.float32)
        return np.concatenate([obs.astype(np.float32), previous, extra])  # (D,)

    def propose(self) -> Proposal:
        memory = (self.hidden, self.prev_action, self.prev_reward)
        retries, explore = 0, False
        while True:
            self.hidden, self.prev_action, self.prev_reward = memory
            arch, steps, entropy = self._rollout(uniform=explore)
            if explore or str(arch) not in self.seen or self.novel_tries == 0:
                break
            retries += 1  # roll out again from the same memory, for a network not yet seen
            explore = retries > self.novel_tries  # the last resort: uniform legal actions
        self.seen.add(str(arch))
        actions = tuple(s.action for s in steps)
        self.steps += len(steps)
        if not self.frozen:
            # an exploring rollout is not the policy's: evaluated, remembered, not trained on
            self.pending.append((actions, -1 if explore else len(self.buffer) + len(steps) - 1))
            if not explore:
                self.buffer.extend(steps)
        return Proposal(arch, actions, {"entropy": entropy, "retries": float(retries)})

    def _rollout(self, uniform: bool = False) -> tuple[Architecture, list[_Step], float]:
        """Sample one masked episode from the policy (or uniformly over the legal actions),
        advancing the LSTM memory."""
        import torch

        state = self.space.initial_state()
        steps: list[_Step] = []
        entropies: list[float] = []
        while not self.space.is_terminal(state):
            inputs = self._inputs(self.space.encode(state), len(steps))
            mask = self.space.action_mask(state)
            before = (self.hidden[0].numpy().copy(), self.hidden[1].numpy().copy())
            with torch.no_grad():
                logits, _, self.hidden = self.model(torch.from_numpy(inputs)[None], self.hidden)
            logits = logits[0].masked_fill(~torch.from_numpy(mask), _MASKED)  # (A,)
            probs = torch.softmax(logits.double(), dim=0).numpy()
            if uniform:
                probs = mask / mask.sum()
            entropies.append(float(-(probs * np.log(np.maximum(probs, 1e-300))).sum()))
            action = int(self.rng.choice(len(probs), p=probs / probs.sum()))
            steps.append(_Step(inputs, before, action, mask, 0.0, False))
            self.prev_action, self.prev_reward = action, 0.0
            state = self.space.step(state, action)
        steps[-1] = steps[-1]._replace(reward=None, done=True)
        return self.space.architecture(state), steps, float(np.mean(entropies))

    # ------------------------------------------------------------------ learning

    def observe(self, feedback: Feedback) -> None:
        self.episodes += 1
        reward = float(feedback.reward)
        if self.frozen:
            self.prev_reward = reward
            return
        wanted = feedback.proposal.actions
        index = next((i for i, (a, _) in enumerate(self.pending) if a == wanted), None)
        if index is None:
            raise ValueError(f"{feedback.proposal.architecture} was not proposed or was observed")
        if index == len(self.pending) - 1:
            self.prev_reward = reward  # the latest episode: the next one starts from its reward
        _, last = self.pending.pop(index)
        self._track(reward)
        if last < 0:
            return  # an exploring rollout: nothing to train on
        self.buffer[last] = self.buffer[last]._replace(reward=reward)
        self._learn()

    def _learn(self) -> None:
        """Run every n-step update whose rewards are all known."""
        n = self.n_steps
        while len(self.buffer) >= n and all(s.reward is not None for s in self.buffer[:n]):
            chunk = self.buffer[:n]
            bootstrap = None if chunk[-1].done else self.buffer[n]  # same episode goes on
            self._update(chunk, bootstrap)
            del self.buffer[:n]
            self.pending = [(a, last - n if last >= 0 else last) for a, last in self.pending]

    def _track(self, reward: float) -> None:
        count, mean, m2 = self.reward_stats
        count += 1
        delta = reward - mean
        mean += delta / count
        self.reward_stats = (count, mean, m2 + delta * (reward - mean))

    def _normalized(self, reward: float) -> float:
        if not self.normalize_rewards:
            return reward
        count, mean, m2 = self.reward_stats
        std = (m2 / count) ** 0.5 if count > 1 else 0.0
        return (reward - mean) / max(std, 1e-2)

    def _update(self, chunk: list[_Step], bootstrap: _Step | None) -> None:
        """One A2C step on ``chunk``, replayed from the LSTM state it was acted from."""
        import torch
        from torch import nn

        rows = [s.inputs for s in chunk] + ([bootstrap.inputs] if bootstrap else [])
        inputs = torch.from_numpy(np.stack(rows))  # (T [+1], D)
        hidden = (torch.from_numpy(chunk[0].hidden[0]), torch.from_numpy(chunk[0].hidden[1]))
        logits, values, _ = self.model(inputs, hidden)  # (T [+1], A), (T [+1],)
        returns = torch.zeros(len(chunk))
        ret = float(values[-1].detach()) if bootstrap else 0.0
        for t in reversed(range(len(chunk))):
            reward = chunk[t].reward
            assert reward is not None  # _learn only passes chunks with known rewards
            # returns stop at an episode's end: the next network is another draw
            ret = self._normalized(reward) if chunk[t].done else reward + self.gamma * ret
            returns[t] = ret
        logits, values = logits[: len(chunk)], values[: len(chunk)]
        masks = torch.from_numpy(np.stack([s.mask for s in chunk]))  # (T, A)
        log_probs = torch.log_softmax(logits.masked_fill(~masks, _MASKED), dim=-1)  # (T, A)
        taken = log_probs.gather(1, torch.tensor([[s.action] for s in chunk])).squeeze(1)
        advantages = returns - values  # (T,)
        entropy = -(log_probs.exp() * log_probs).sum(-1)  # (T,)
        loss = (
            -(taken * advantages.detach()).mean()
            + self.vf_coef * advantages.pow(2).mean()
            - self.ent_coef * entropy.mean()
        )
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        self.optimizer.step()
        self.updates += 1

    # ------------------------------------------------------------------ persistence

    def load_policy(self, path: str | os.PathLike[str]) -> None:
        """Load weights from a policy file; ``ValueError`` if it is not one or its actions
        or observation differ from this space's."""
        import torch

        path = Path(path)
        if not path.is_file():
            raise ValueError(f"policy file {path} does not exist; create one with rlnas meta-train")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as error:  # any unreadable file is the user's input problem
            raise ValueError(f"{path} is not a policy file ({error})") from None
        if not isinstance(data, dict) or data.get("format") != POLICY_FORMAT:
            raise ValueError(f"{path} is not a policy file written by rlnas meta-train")
        obs_size = len(self.space.encode(self.space.initial_state()))
        if data["actions"] != action_names(self.space) or data["obs_size"] != obs_size:
            raise ValueError(
                f"{path} was trained on the {data['space']} space; this search uses the "
                f"{self.space.name} space with other actions or observations: pass --space "
                f"{data['space']} (and the same [space] settings)"
            )
        if data["hidden_size"] != self.model.hidden_size:
            raise ValueError(f"{path} has hidden_size {data['hidden_size']}; set it to match")
        self.model.load_state_dict(data["model"])
        self.policy_info = dict(data.get("info", {}))

    def state_dict(self) -> dict[str, Any]:
        from rlnas.nn.state import to_numpy  # arrays pickle several times faster than tensors

        return {
            "model": to_numpy(self.model.state_dict()),
            "optimizer": to_numpy(self.optimizer.state_dict()),
            "rng": self.rng.bit_generator.state,
            "hidden": to_numpy(self.hidden),
            "prev_action": self.prev_action,
            "prev_reward": self.prev_reward,
            "buffer": [s._asdict() for s in self.buffer],
            "pending": list(self.pending),
            "counters": (self.episodes, self.updates, self.steps),
            "seen": sorted(self.seen),
            "reward_stats": self.reward_stats,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from rlnas.nn.state import to_torch  # (stores before 2026-12-04 hold tensors: kept)

        self.model.load_state_dict(to_torch(state["model"]))
        self.optimizer.load_state_dict(to_torch(state["optimizer"]))
        self.rng.bit_generator.state = state["rng"]
        hidden, cell = to_torch(state["hidden"])
        self.hidden = (hidden.clone(), cell.clone())
        self.prev_action, self.prev_reward = state["prev_action"], float(state["prev_reward"])
        self.buffer = [_Step(**s) for s in state["buffer"]]
        self.pending = [(tuple(a), int(last)) for a, last in state["pending"]]
        self.episodes, self.updates, self.steps = state["counters"]
        self.seen = set(state["seen"])
        count, mean, m2 = state["reward_stats"]
        self.reward_stats = (int(count), float(mean), float(m2))


def save_policy(strategy: MetaA2C, path: str | os.PathLike[str], **info: Any) -> None:
    """Write ``strategy``'s policy (weights and what it expects of a space) to ``path``
    atomically; ``info`` (plain data, e.g. the meta-training data sets) is kept with it."""
    import torch

    path = Path(path)
    data = {
        "format": POLICY_FORMAT,
        "space": strategy.space.name,
        "actions": action_names(strategy.space),
        "obs_size": strategy.model.obs_size,
        "hidden_size": strategy.model.hidden_size,
        "model": strategy.model.state_dict(),
        "info": info,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(data, partial)
    os.replace(partial, path)
