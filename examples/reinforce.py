"""REINFORCE (Williams, 1992) on gymnasium's CartPole-v1.

A small policy network gives action logits; actions are sampled from a Categorical; after
each episode the loss is -Σ log π(a_t|s_t) · G_t with normalised discounted returns G_t.
The same file runs on PyTorch and on fovea; only the imports differ:

    python examples/reinforce.py                  # fovea
    python examples/reinforce.py --backend torch  # PyTorch
"""

import argparse
import json
import os
import sys

import gymnasium as gym
import numpy as np

# The backend: --backend torch|fovea, else the BACKEND environment variable, else fovea.
_ARGS = " ".join(sys.argv[1:]).replace("=", " ")
BACKEND = "torch" if "--backend torch" in _ARGS else "fovea" if "--backend fovea" in _ARGS \
    else os.environ.get("BACKEND", "fovea")
if BACKEND == "torch":
    import torch
    from torch import nn
    from torch.distributions import Categorical
else:
    import fovea as torch
    from fovea import nn
    from fovea.distributions import Categorical


def discounted_returns(rewards, gamma):
    g, out = 0.0, []
    for r in reversed(rewards):
        g = r + gamma * g
        out.append(g)
    return out[::-1]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["fovea", "torch"], default=BACKEND)
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--gamma", type=float, default=0.99)
    # NOTE: 5e-3, not 1e-2: Adam's first step moves every weight by about lr whatever the
    # gradient's size, and at 1e-2 one short first episode can push the policy into always
    # taking the same action (return ~9), on PyTorch and fovea alike (about 1 seed in 5).
    p.add_argument("--lr", type=float, default=5e-3)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)

    env = gym.make("CartPole-v1")
    policy = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, 2))
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.lr)

    episode_returns = []
    for episode in range(args.episodes):
        state, _ = env.reset(seed=args.seed + episode)
        log_probs, rewards, done = [], [], False
        while not done:
            logits = policy(torch.tensor(state, dtype=torch.float32))
            dist = Categorical(logits=logits)
            action = dist.sample()
            state, reward, terminated, truncated, _ = env.step(action.item())
            log_probs.append(dist.log_prob(action))
            rewards.append(float(reward))
            done = terminated or truncated
        returns = torch.tensor(discounted_returns(rewards, args.gamma), dtype=torch.float32)
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
        loss = -(torch.stack(log_probs) * returns).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        episode_returns.append(sum(rewards))
        if episode % 20 == 0:
            print(f"episode {episode:4d}  return {np.mean(episode_returns[-20:]):.1f}")
    k = max(1, min(20, len(episode_returns) // 3))
    print(json.dumps({"example": "reinforce", "backend": args.backend,
                      "first_return": float(np.mean(episode_returns[:k])),
                      "last_return": float(np.mean(episode_returns[-k:]))}))


if __name__ == "__main__":
    main()
