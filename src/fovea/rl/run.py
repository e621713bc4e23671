"""RL runs on disk: ``train_run`` writes a run directory as ``fovea train`` does, and
``load_policy`` reads one back for evaluation and play.

Layout (the same files ``fovea runs`` reads)::

    RUN/run.json            algorithm, environment, seed, options; status, steps, wall time
    RUN/model.safetensors   the final weights (deep) or tables (Q / V / policy: tabular);
                            with --eval-every (and --keep-best, its default) the best
                            evaluated weights
    RUN/best_model.safetensors  the best weights of the periodic evaluations (--eval-every)
    RUN/metrics.json        evaluation mean and std of the return, steps, episodes, seconds
    RUN/returns.png         return per episode against environment steps (moving average)
    RUN/loss.png            loss, and ε (DQN) or the policy's entropy, per update
    RUN/checkpoints/        the latest checkpoint (weights, optimizer, counters, history,
                            RNG states; for DQN the replay buffer in best.safetensors)

In ``run.json``, ``config.dataset`` is the environment and ``config.model`` the algorithm,
and ``config.epochs`` / ``epochs_done`` count environment steps (planned / done), so that
``fovea runs`` lists RL runs next to classifiers.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, fields
from pathlib import Path

import numpy as np

from fovea.train.checkpoint import (
    CheckpointError,
    atomic_write_text,
    load_checkpoint,
    load_weights,
    read_latest,
    save_checkpoint,
    save_weights,
)
from fovea.train.run import _now  # the run.json timestamps of fovea train

DEEP = ("dqn", "reinforce", "a2c", "ppo")
TABULAR = ("q-learning", "sarsa", "value-iteration", "policy-iteration")
ALGOS = DEEP + TABULAR


def parse_options(algo: str, pairs) -> dict:
    """``["lr=1e-3", "hidden=64,64", "double=false"]`` -> typed options of ``algo``'s config
    (the type of each default decides how its value is read)."""
    from fovea.rl import ALGORITHMS

    cfg = ALGORITHMS[algo].Config()
    known = {f.name: getattr(cfg, f.name) for f in fields(cfg)}
    out = {}
    for pair in pairs or ():
        key, sep, text = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or key not in known:
            raise ValueError(f"rl: invalid --set {pair!r}: expected KEY=VALUE with KEY one of "
                             f"{', '.join(sorted(known))}")
        default = known[key]
        try:
            if isinstance(default, bool):
                if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError
                value = text.lower() in ("true", "1", "yes")
            elif isinstance(default, tuple):
                value = tuple(int(v) for v in text.split(",") if v.strip())
            else:
                value = type(default)(float(text)) if isinstance(default, int) else \
                    type(default)(text)
        except ValueError:
            raise ValueError(f"rl: invalid --set {pair!r}: {key} takes "
                             f"{type(default).__name__} values like {default!r}") from None
        out[key] = value
    return out


def _new_run_dir(out, algo: str, env_id: str, overwrite: bool) -> Path:
    import shutil

    if out is not None:
        out = Path(out)
        if out.exists() and any(out.iterdir()):
            if not overwrite:
                raise FileExistsError(f"rl: --out {out} already exists; choose a new "
                                      f"directory or pass --overwrite")
            if not (out / "run.json").is_file():
                raise FileExistsError(f"rl: --overwrite replaces only a fovea run directory "
                                      f"(one holding run.json); {out} is not one")
            shutil.rmtree(out)
        out.mkdir(parents=True, exist_ok=True)
        return out
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in env_id)
    base = Path("runs") / f"{safe}-{algo}-{time.strftime('%Y%m%d-%H%M%S')}"
    base.parent.mkdir(parents=True, exist_ok=True)
    k = 1
    while True:  # os.mkdir claims the name atomically
        path = base if k == 1 else Path(f"{base}-{k}")
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            k += 1


class _Info:
    """``run.json``: written atomically at every checkpoint and at the end."""

    def __init__(self, run_dir: Path, info: dict):
        self.run_dir, self.info, self.t0 = run_dir, info, time.perf_counter()
        self.before = float(info.get("seconds") or 0.0)

    def write(self, status: str, **extra) -> None:
        self.info.update(status=status, updated=_now(), pid=os.getpid(),
                         seconds=round(self.before + time.perf_counter() - self.t0, 2), **extra)
        import socket

        self.info["host"] = socket.gethostname()
        atomic_write_text(self.run_dir / "run.json", json.dumps(self.info, indent=2) + "\n")

    @property
    def seconds(self) -> float:
        return self.before + time.perf_counter() - self.t0


def train_run(algo: str, env_id: str = "CartPole-v1", seed: int = 0, steps: int = 50_000,
              options: dict | None = None, out=None, resume=None, overwrite: bool = False,
              eval_episodes: int = 100, checkpoint_every: int | None = None,
              progress: bool = True, log=print, env_kwargs: dict | None = None,
              eval_every: int = 0, eval_every_episodes: int = 10,
              keep_best: bool = True) -> dict:
    """Train ``algo`` on ``env_id`` and write a run directory; returns the metrics.

    Args:
        algo: one of :data:`ALGOS`.
        steps: environment steps in all (deep algorithms); episodes for q-learning/sarsa;
            unused by value/policy iteration.
        options: the algorithm's config fields (``DQNConfig`` ...; for tabular: gamma,
            alpha, eps_start, eps_end, tol).
        resume: continue the run in this directory from its latest checkpoint (up to
            ``steps``, or its planned steps when None); its algorithm, environment, seed and
            options are fixed by the run.
        eval_episodes: evaluate the final policy greedily over this many episodes (0: skip).
        checkpoint_every: environment steps between checkpoints (default steps / 10).
        env_kwargs: keyword arguments of ``gymnasium.make`` (``{"map_name": "8x8"}``).
        eval_every: deep algorithms: every this many environment steps, play the greedy
            policy for ``eval_every_episodes`` episodes (seeds 20000, 20001, ..., apart from
            the final evaluation's 10000, ...) and keep the weights with the best mean return
            in ``best_model.safetensors`` (0: no periodic evaluation). The evaluations use
            their own environment and greedy actions, so training is the same with or
            without them.
        keep_best: with ``eval_every``, the run's result (``model.safetensors`` and the final
            evaluation) is the best evaluated weights, as reference setups keep them
            (Stable-Baselines3's EvalCallback); the last weights' evaluation is reported too
            (``last_eval_mean``). False: the last weights.
    """
    if resume is None and algo not in ALGOS:
        raise ValueError(f"rl: unknown algorithm {algo!r}: expected one of {', '.join(ALGOS)}")
    if resume is not None:
        run_dir = Path(resume)
        info = _read_run(run_dir)
        cfg = info["config"]
        algo, env_id, seed, options = cfg["model"], cfg["dataset"], cfg["seed"], \
            cfg["options"]
        env_kwargs = cfg.get("env_kwargs") or {}
        eval_every = cfg.get("eval_every", 0)  # the periodic evaluations are the run's too
        eval_every_episodes = cfg.get("eval_every_episodes", 10)
        keep_best = cfg.get("keep_best", True)
        steps = int(steps) if steps is not None else int(cfg["epochs"])
        if read_latest(run_dir) is None:
            raise CheckpointError(f"{run_dir}: no complete checkpoint to resume from")
    else:
        from fovea.rl.envs import check_env_id

        check_env_id(env_id)
        options = dict(options or {})
        env_kwargs = dict(env_kwargs or {})
    if steps is None or int(steps) < 1:
        raise ValueError(f"rl: invalid --steps {steps!r}: expected an integer >= 1")
    if int(eval_every) < 0 or int(eval_every_episodes) < 1:
        raise ValueError(f"rl: invalid --eval-every {eval_every!r} / --eval-every-episodes "
                         f"{eval_every_episodes!r}: expected integers >= 0 and >= 1")
    if algo in TABULAR:
        if resume is not None:
            raise ValueError(f"rl: {algo} runs finish in one go; --resume is for "
                             f"{', '.join(DEEP)}")
        return _tabular_run(algo, env_id, seed, int(steps), options, out, overwrite,
                            eval_episodes, env_kwargs)
    from fovea.rl import ALGORITHMS

    evals = None  # the periodic evaluations' state of a resumed run
    agent = ALGORITHMS[algo](env_id, seed=seed, env_kwargs=env_kwargs, **options)  # fails
    # here on bad options, before anything is written
    if resume is None:
        run_dir = _new_run_dir(out, algo, env_id, overwrite)
        info = {"kind": "rl", "config": {"dataset": env_id, "model": algo, "seed": seed,
                                         "env_kwargs": env_kwargs, "epochs": int(steps),
                                         "lr": agent.config.lr,
                                         "optimizer": "adam", "options": options,
                                         "batch_size": getattr(agent.config, "batch_size",
                                                               None), "schedule": "-",
                                         "algorithm_config": asdict(agent.config),
                                         "eval_every": int(eval_every),
                                         "eval_every_episodes": int(eval_every_episodes),
                                         "keep_best": bool(keep_best)},
                "started": _now(), "seconds": 0.0}
    else:
        ck = load_checkpoint(run_dir)
        agent.model.load_state_dict(ck["model"])
        agent.optimizer.load_state_dict(ck["optimizer"])
        agent.load_extra_state(ck["state"]["agent"])
        agent.load_arrays(ck["best"] or {})
        evals = ck["state"].get("evals") or evals
        info["config"]["epochs"] = int(steps)
        log(f"resuming {run_dir} at step {agent.steps} of {steps}")
    run = _Info(run_dir, info)
    evals = _PeriodicEval(agent, run_dir, int(eval_every), int(eval_every_episodes),
                          evals if resume is not None else None)
    every = int(checkpoint_every or max(1000, steps // 10))
    ckpt = {"next": (agent.steps // every + 1) * every, "k": _checkpoint_index(run_dir)}

    def checkpoint():
        ckpt["k"] += 1
        save_checkpoint(run_dir, ckpt["k"], agent.model, agent.optimizer,
                        agent.arrays() or None, {"agent": agent.extra_state(),
                                                 "evals": evals.state()})
        run.write("running", epochs_done=agent.steps)

    bar = _bar(progress, steps, agent.steps)

    def callback(a):
        if bar is not None:
            bar.update(a.steps - bar.n)
            bar.set_postfix(ret=f"{a.history.mean_return(20):.1f}", refresh=False)
        evals.maybe_run(a.steps)
        if a.steps >= ckpt["next"]:
            checkpoint()
            ckpt["next"] = (a.steps // every + 1) * every

    try:
        run.write("running", epochs_done=agent.steps)
        agent.learn(steps, callback)
        checkpoint()
    except BaseException as exc:
        if bar is not None:
            bar.close()
        if read_latest(run_dir) is None and resume is None:
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
            log(f"removed {run_dir}: the run stopped before its first checkpoint")
        else:
            run.write("interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
                      error=f"{type(exc).__name__}: {exc}")
        raise
    if bar is not None:
        bar.close()
    train_seconds = run.seconds
    metrics = _metrics(agent.history, agent.steps, train_seconds, algo, env_id, seed)
    from fovea.rl.evaluation import evaluate_agent

    if evals.best is not None and keep_best:
        if eval_episodes:
            r = evaluate_agent(agent, eval_episodes)
            metrics.update(last_eval_mean=float(r.mean()), last_eval_std=float(r.std()))
        agent.model.load_state_dict(load_weights(run_dir / "best_model.safetensors"))
    if evals.enabled:
        metrics.update(kept="best" if evals.best is not None and keep_best else "last",
                       best_step=evals.best_step, best_periodic_mean=evals.best,
                       evaluations=evals.history)
    save_weights(agent.model.state_dict(), run_dir / "model.safetensors",
                 metadata={"algo": algo, "env": env_id})
    if eval_episodes:
        t = time.perf_counter()
        r = evaluate_agent(agent, eval_episodes)
        metrics.update(eval_mean=float(r.mean()), eval_std=float(r.std()),
                       eval_episodes=int(eval_episodes),
                       eval_seconds=round(time.perf_counter() - t, 2))
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    plot_history(agent.history, run_dir, algo)
    run.write("complete", epochs_done=agent.steps, test_accuracy=None)
    metrics["run_dir"] = str(run_dir)
    return metrics


class _PeriodicEval:
    """``--eval-every``: greedy evaluations during training and the best weights so far.

    ``history`` is ``[[step, mean return], ...]``; the best weights are written atomically to
    ``best_model.safetensors`` whenever an evaluation ties or beats the best (the later of
    equal scores is kept: it trained longer). ``state()`` goes into each checkpoint so that a
    resumed run continues the schedule and the comparison.
    """

    SEED = 20_000  # the evaluations' episodes: apart from the final evaluation's 10000, ...

    def __init__(self, agent, run_dir: Path, every: int, episodes: int, state=None):
        self.agent, self.path, self.every, self.episodes = agent, run_dir / \
            "best_model.safetensors", every, episodes
        state = state or {}
        self.history = [list(h) for h in state.get("history", [])]
        self.best = state.get("best")
        self.best_step = state.get("best_step")
        self.next = state.get("next", every)

    @property
    def enabled(self) -> bool:
        return self.every > 0

    def maybe_run(self, step: int) -> None:
        if not self.enabled or step < self.next:
            return
        from fovea.rl.evaluation import evaluate_agent

        self.next = (step // self.every + 1) * self.every
        mean = float(evaluate_agent(self.agent, self.episodes, seed=self.SEED).mean())
        self.history.append([int(step), mean])
        if self.best is None or mean >= self.best:
            self.best, self.best_step = mean, int(step)
            save_weights(self.agent.model.state_dict(), self.path,
                         metadata={"step": str(step), "mean_return": repr(mean)})

    def state(self) -> dict:
        return {"history": self.history, "best": self.best, "best_step": self.best_step,
                "next": self.next}


def _checkpoint_index(run_dir: Path) -> int:
    latest = read_latest(run_dir)
    return int(latest.name.split("-")[1]) if latest is not None else 0


def _bar(progress: bool, total: int, start: int):
    if not progress:
        return None
    try:
        show = sys.stderr.isatty()
    except (AttributeError, ValueError):
        show = False
    if not show:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, unit="step", leave=False)


def _metrics(history, steps, seconds, algo, env_id, seed) -> dict:
    return {"algo": algo, "env": env_id, "seed": seed, "steps": int(steps),
            "episodes": len(history.episode_return), "updates": len(history.loss),
            "train_return_last100": finite_or_none(history.mean_return(100)),
            "seconds": round(seconds, 2)}


def _read_run(run_dir: Path) -> dict:
    path = Path(run_dir) / "run.json"
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{run_dir}: not a fovea run directory (no run.json)") from None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    if info.get("kind") != "rl":
        raise ValueError(f"{run_dir}: not an RL run (made by fovea train?); fovea rl "
                         f"evaluate/play read runs of fovea rl train")
    return info


# --- tabular runs ------------------------------------------------------------------------

def _tabular_run(algo, env_id, seed, steps, options, out, overwrite, eval_episodes,
                 env_kwargs):
    from fovea.rl import tabular
    from fovea.rl.envs import make_env
    from fovea.rl.evaluation import evaluate_tabular

    env = make_env(env_id, **env_kwargs)
    allowed = {"gamma", "tol"} if algo.endswith("iteration") else \
        {"gamma", "alpha", "eps_start", "eps_end", "eps_decay"}
    bad = sorted(set(options) - allowed)
    if bad:
        raise ValueError(f"rl: invalid option {bad[0]!r} for {algo}: expected one of "
                         f"{', '.join(sorted(allowed))}")
    spaces = env.observation_space, env.action_space
    if not all(type(s).__name__ == "Discrete" for s in spaces):
        raise ValueError(f"{algo}: {env_id} has {spaces[0]} observations and {spaces[1]} "
                         f"actions; tabular methods need Discrete states and actions "
                         f"(FrozenLake-v1, Taxi-v4, CliffWalking-v1)")
    t0 = time.perf_counter()
    arrays, extra = {}, {}
    if algo.endswith("iteration"):
        mdp = tabular.MDP.from_env(env)
        solve = tabular.value_iteration if algo == "value-iteration" else \
            tabular.policy_iteration
        r = solve(mdp, **options)
        arrays = {"V": r.V, "Q": r.Q, "policy": r.policy}
        extra = {"iterations": r.iterations, "V_start": float(r.V[0])}
        steps_done = 0
    else:
        learn = tabular.q_learning if algo == "q-learning" else tabular.sarsa
        r = learn(env, episodes=steps, seed=seed, **options)
        arrays = {"Q": r.Q, "policy": r.policy, "returns": r.returns}
        extra = {"episodes": steps, "train_return_last100": float(r.returns[-100:].mean())}
        steps_done = r.steps
    seconds = time.perf_counter() - t0
    run_dir = _new_run_dir(out, algo, env_id, overwrite)
    info = {"kind": "rl", "config": {"dataset": env_id, "model": algo, "seed": seed,
                                     "env_kwargs": env_kwargs, "epochs": steps_done,
                                     "lr": options.get("alpha"),
                                     "options": options},
            "started": _now(), "seconds": round(seconds, 2)}
    save_weights(arrays, run_dir / "model.safetensors", metadata={"algo": algo, "env": env_id})
    metrics = {"algo": algo, "env": env_id, "seed": seed, "steps": steps_done,
               "seconds": round(seconds, 2), **extra}
    if eval_episodes:
        ret = evaluate_tabular(env, arrays["policy"], range(10_000, 10_000 + eval_episodes))
        metrics.update(eval_mean=float(ret.mean()), eval_std=float(ret.std()),
                       eval_episodes=int(eval_episodes))
    atomic_write_text(run_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    _Info(run_dir, info).write("complete", epochs_done=steps_done)
    metrics["run_dir"] = str(run_dir)
    return metrics


# --- reading a run back ------------------------------------------------------------------

def load_policy(run_dir):
    """``(act, make, info)`` of a finished (or checkpointed) RL run: ``act(obs) -> int`` is
    its greedy policy, ``make(**kwargs)`` makes its environment (with the run's options)."""
    run_dir = Path(run_dir)
    info = _read_run(run_dir)
    cfg = info["config"]
    algo, env_id, env_kwargs = cfg["model"], cfg["dataset"], cfg.get("env_kwargs") or {}
    weights = run_dir / "model.safetensors"

    def make(**kwargs):
        from fovea.rl.envs import make_env

        return make_env(env_id, **env_kwargs, **kwargs)

    if algo in TABULAR:
        policy = load_weights(weights)["policy"]
        return (lambda obs: int(policy[int(obs)])), make, info
    from fovea.rl import ALGORITHMS

    agent = ALGORITHMS[algo](env_id, seed=cfg["seed"], env_kwargs=env_kwargs, **cfg["options"])
    if weights.is_file():
        state = load_weights(weights)
    else:  # not finished: its latest checkpoint
        state = load_checkpoint(run_dir)["model"]
    agent.model.load_state_dict(state)
    return (lambda obs: int(agent.act(np.asarray(obs)[None])[0])), make, info


def evaluate_run(run_dir, episodes: int = 100, seed: int = 10_000) -> dict:
    """Mean and standard deviation of the greedy policy's return over ``episodes``."""
    from fovea.rl.evaluation import play_episodes

    if int(episodes) < 1:
        raise ValueError(f"rl evaluate: invalid --episodes {episodes!r}: expected an integer "
                         f">= 1")
    act, make, info = load_policy(run_dir)
    env_id = info["config"]["dataset"]
    env = make()
    t = time.perf_counter()
    r = play_episodes(env, act, range(seed, seed + int(episodes)))
    env.close()
    return {"env": env_id, "episodes": int(episodes), "mean": float(r.mean()),
            "std": float(r.std()), "min": float(r.min()), "max": float(r.max()),
            "seconds": round(time.perf_counter() - t, 2)}


def play_run(run_dir, seed: int = 10_000, gif=None, out=print) -> float:
    """Play one episode of the run's greedy policy, printing every step (the board, for
    text environments); with ``gif`` also write the frames as an animated GIF (needs the
    environment's renderer, e.g. pygame for classic control). Returns the episode's return."""
    act, make, info = load_policy(run_dir)
    env_id = info["config"]["dataset"]
    modes = make().metadata.get("render_modes", [])
    frames = []
    if gif is not None:
        if "rgb_array" not in modes:
            raise ValueError(f"rl play: {env_id} cannot render images (render modes: "
                             f"{', '.join(modes) or 'none'})")
        try:
            env = make(render_mode="rgb_array")
            env.reset(seed=seed)
            env.render()
        except Exception as exc:  # gymnasium's DependencyNotInstalled and friends
            raise ValueError(f"rl play: cannot render {env_id} to a GIF: {exc}") from None
    else:
        env = make(render_mode="ansi") if "ansi" in modes else make()
    obs, _ = env.reset(seed=seed)
    total, t, done = 0.0, 0, False
    while not done:
        if gif is not None:
            frames.append(env.render())
        elif env.render_mode == "ansi":
            out(env.render())
        a = act(obs)
        obs, r, terminated, truncated, _ = env.step(a)
        total += float(r)
        t += 1
        out(f"step {t:4d}  action {a}  reward {float(r):g}  return {total:g}"
            + ("  (terminated)" if terminated else "  (truncated)" if truncated else ""))
        done = terminated or truncated
    if gif is not None:
        frames.append(env.render())
        _write_gif(frames, gif)
        out(f"{len(frames)} frames written to {gif}")
    env.close()
    return total


def _write_gif(frames, path) -> None:
    import io

    from PIL import Image

    from fovea.train.checkpoint import atomic_write_bytes

    images = [Image.fromarray(np.asarray(f, dtype=np.uint8)) for f in frames]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=40,
                   loop=0)
    atomic_write_bytes(path, buf.getvalue())


# --- the report ----------------------------------------------------------------------------

def plot_history(history, run_dir, algo: str) -> None:
    """``returns.png`` (return per episode against steps) and ``loss.png`` (loss and ε or
    entropy per update), written atomically."""
    from fovea.train.report import _figure, _save

    plt = _figure()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    steps, ret = np.asarray(history.episode_step), np.asarray(history.episode_return)
    ax.plot(steps, ret, lw=0.6, alpha=0.4, label="return per episode")
    if len(ret) >= 10:
        k = max(5, min(100, len(ret) // 10))
        ax.plot(steps[k - 1:], np.convolve(ret, np.ones(k) / k, "valid"), lw=1.5,
                label=f"moving average ({k} episodes)")
    ax.set(xlabel="environment step", ylabel="return", title=f"{algo}: return per episode")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    _save(fig, Path(run_dir) / "returns.png")
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(history.update_step, history.loss, lw=0.8, label="loss")
    ax.set(xlabel="environment step", ylabel="loss", title=f"{algo}: loss per update")
    other, name = (history.epsilon, "ε") if history.epsilon else (history.entropy, "entropy")
    if other:
        ax2 = ax.twinx()
        ax2.plot(history.update_step, other, color="C1", lw=1, label=name)
        ax2.set_ylabel(name)
    ax.grid(alpha=0.3)
    _save(fig, Path(run_dir) / "loss.png")


def finite_or_none(x):
    """x, or None where it is nan or infinite (JSON has no nan)."""
    return x if isinstance(x, int | float) and math.isfinite(x) else None
