"""The network of :mod:`rlnas.strategies.meta_a2c` (kept apart so that importing the
strategy registry does not import torch)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["MetaA2CPolicy"]


class MetaA2CPolicy(nn.Module):
    """LSTM over ``[obs, one-hot previous action, previous reward, time step]``, with a
    policy head (logits over the vocabulary) and a value head."""

    def __init__(self, obs_size: int, num_actions: int, hidden_size: int = 128) -> None:
        super().__init__()
        self.obs_size, self.num_actions, self.hidden_size = obs_size, num_actions, hidden_size
        # A cell stepped in Python: 3x faster than nn.LSTM on the one-step calls of acting.
        self.lstm = nn.LSTMCell(obs_size + num_actions + 2, hidden_size)
        self.policy = nn.Linear(hidden_size, num_actions)
        self.value = nn.Linear(hidden_size, 1)

    def forward(
        self, inputs: Tensor, hidden: tuple[Tensor, Tensor]
    ) -> tuple[Tensor, Tensor, tuple[Tensor, Tensor]]:
        """``inputs`` (T, D) from state ``hidden`` ((1, H) each) -> logits (T, A),
        values (T,) and the state after the last input."""
        outputs = []
        for t in range(len(inputs)):
            hidden = self.lstm(inputs[t : t + 1], hidden)  # (1, H) each
            outputs.append(hidden[0])
        out = torch.cat(outputs)  # (T, H)
        return self.policy(out), self.value(out).squeeze(-1), hidden
