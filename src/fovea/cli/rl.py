"""``fovea rl``: reinforcement learning on gymnasium environments (see docs/rl.md).

Examples::

    fovea rl train ppo --env CartPole-v1 --seed 0 --steps 100000
    fovea rl train dqn --env CartPole-v1 --steps 50000 --set double=true --set tau=0.005
    fovea rl train value-iteration --env FrozenLake-v1
    fovea rl train q-learning --env Taxi-v4 --steps 5000      # --steps: episodes here
    fovea rl train --resume runs/CartPole-v1-ppo-20260101-120000 --steps 200000
    fovea rl evaluate RUN --episodes 100
    fovea rl play RUN [--gif episode.gif]
"""

from __future__ import annotations

import argparse
import json


def register(sub) -> None:
    """Add ``fovea rl`` and its subcommands to the ``fovea`` parser."""
    from fovea.rl.run import ALGOS

    p = sub.add_parser("rl", help="reinforcement learning: train, evaluate and play agents on "
                       "gymnasium environments",
                       description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    rl = p.add_subparsers(dest="rl_command", metavar="SUBCOMMAND")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    t = rl.add_parser("train", help="train an agent and write a run directory",
                      description="Train an agent; writes a run directory (run.json, "
                      "model.safetensors, metrics.json, returns.png, loss.png, checkpoints).")
    t.add_argument("algo", nargs="?", choices=ALGOS, metavar="ALGO",
                   help=", ".join(ALGOS) + " (not with --resume)")
    t.add_argument("--env", default="CartPole-v1", help="a gymnasium id (default CartPole-v1)")
    t.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                   help="an argument of gymnasium.make (e.g. map_name=8x8, is_slippery=false); "
                        "repeatable; values are read as JSON, else as text")
    t.add_argument("--seed", type=int, default=0, help="fixes networks, exploration and "
                   "environments (default 0)")
    t.add_argument("--steps", type=int, default=None,
                   help="environment steps (default 100000); episodes for q-learning and "
                        "sarsa (default 5000); unused by value/policy iteration")
    t.add_argument("--lr", type=float, default=None, help="learning rate (deep algorithms)")
    t.add_argument("--gamma", type=float, default=None, help="discount factor")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="any option of the algorithm (e.g. double=true, tau=0.005, "
                        "hidden=128,128, n_envs=16); repeatable; docs/rl.md lists them")
    t.add_argument("--eval-episodes", type=int, default=100,
                   help="evaluate the final greedy policy over this many episodes (0: skip)")
    t.add_argument("--eval-every", type=int, default=0, metavar="STEPS",
                   help="deep algorithms: every STEPS environment steps, evaluate the greedy "
                        "policy (--eval-every-episodes episodes) and keep the best weights in "
                        "best_model.safetensors (default 0: off)")
    t.add_argument("--eval-every-episodes", type=int, default=10, metavar="N",
                   help="episodes per periodic evaluation (default 10)")
    t.add_argument("--keep-last", action="store_true",
                   help="with --eval-every: the run's result is the last weights, not the "
                        "best evaluated ones")
    t.add_argument("--checkpoint-every", type=int, default=None, metavar="STEPS",
                   help="environment steps between checkpoints (default steps/10)")
    t.add_argument("--out", default=None, help="the run directory (default runs/<env>-<algo>-"
                   "<time>); an existing one is refused")
    t.add_argument("--overwrite", action="store_true", help="replace the run in --out")
    t.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the run in DIR from its latest checkpoint up to --steps")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    _threads_option(t)
    t.set_defaults(func=run_train)

    e = rl.add_parser("evaluate", help="mean and standard deviation of a run's return",
                      description="Play the greedy policy of a run for --episodes episodes "
                      "(seeds 10000, 10001, ...) and print the mean and standard deviation.")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--episodes", type=int, default=100, help="default 100")
    e.add_argument("--seed", type=int, default=10_000, help="seed of the first episode")
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    _threads_option(e)
    e.set_defaults(func=run_evaluate)

    pl = p_play = rl.add_parser("play", help="play one episode of a run and print it",
                                description="Play one episode of a run's greedy policy and "
                                "print every step (and the board of text environments).")
    p_play.add_argument("run_dir", metavar="RUN_DIR")
    p_play.add_argument("--seed", type=int, default=10_000, help="the episode's seed")
    p_play.add_argument("--gif", default=None, metavar="FILE",
                        help="also write the episode as an animated GIF (needs the "
                             "environment's renderer, e.g. pygame for CartPole)")
    _threads_option(pl)
    pl.set_defaults(func=run_play)


def _threads_option(parser) -> None:
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: the networks of RL are small, and more "
                             "threads only wait on each other, by 10x or worse on a busy "
                             "machine)")


def _set_threads(n: int) -> None:
    from fovea.backends.cpu import blas

    if n < 1:
        raise ValueError(f"rl: invalid --threads {n}: expected an integer >= 1")
    blas.set_num_threads(n)


def run_train(args) -> int:
    from fovea.errors import UserError
    from fovea.rl.run import TABULAR, parse_options, train_run
    from fovea.train.trainer import TrainingDiverged

    _set_threads(args.threads)
    if args.resume is None and args.algo is None:
        raise ValueError("rl train: name an algorithm (ALGO) or --resume a run")
    if args.resume is not None and args.overwrite:
        raise ValueError("rl train: --overwrite cannot be used with --resume")
    options = {}
    if args.resume is None:
        options = parse_options(args.algo, args.set) if args.algo not in TABULAR else \
            _tabular_options(args.set)
        if args.lr is not None:
            key = "alpha" if args.algo in ("q-learning", "sarsa") else "lr"
            options[key] = args.lr
        if args.gamma is not None:
            options["gamma"] = args.gamma
    elif args.set or args.lr is not None or args.gamma is not None:
        print("--resume: ignoring --set/--lr/--gamma: fixed by the run")
    steps = args.steps
    if steps is None and args.resume is None:
        steps = 5000 if args.algo in ("q-learning", "sarsa") else 100_000
    try:
        m = train_run(args.algo, args.env, args.seed, steps, options, out=args.out,
                      resume=args.resume, overwrite=args.overwrite,
                      eval_episodes=args.eval_episodes, checkpoint_every=args.checkpoint_every,
                      progress=not args.no_progress, env_kwargs=_env_kwargs(args.env_arg),
                      eval_every=args.eval_every, eval_every_episodes=args.eval_every_episodes,
                      keep_best=not args.keep_last)
    except TrainingDiverged as exc:
        raise UserError(f"training diverged: {exc}") from None
    if "V_start" in m:
        parts = [f"{m['algo']} on {m['env']}: V(start) {m['V_start']:.4f} after "
                 f"{m['iterations']} sweeps ({m['seconds']:.1f}s)"]
    else:
        parts = [f"{m['algo']} on {m['env']}: {m['steps']} steps in {m['seconds']:.1f}s"]
    if "eval_mean" in m:
        parts.append(f"evaluation return {m['eval_mean']:.2f} ± {m['eval_std']:.2f} over "
                     f"{m['eval_episodes']} episodes")
    print("; ".join(parts))
    print(f"run written to {m['run_dir']}")
    return 0


def _env_kwargs(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"rl: invalid --env-arg {pair!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(text)
        except ValueError:
            out[key.strip()] = text
    return out


def _tabular_options(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        try:
            out[key.strip().replace("-", "_")] = float(text) if key.strip() != "eps_decay" \
                else int(text)
        except ValueError:
            raise ValueError(f"rl: invalid --set {pair!r}: expected KEY=NUMBER") from None
        if not sep:
            raise ValueError(f"rl: invalid --set {pair!r}: expected KEY=VALUE")
    return out


def run_evaluate(args) -> int:
    from fovea.rl.run import evaluate_run

    _set_threads(args.threads)
    r = evaluate_run(args.run_dir, args.episodes, args.seed)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        print(f"{r['env']}: return {r['mean']:.2f} ± {r['std']:.2f} over {r['episodes']} "
              f"episodes (min {r['min']:g}, max {r['max']:g}; {r['seconds']:.1f}s)")
    return 0


def run_play(args) -> int:
    from fovea.rl.run import play_run

    _set_threads(args.threads)
    play_run(args.run_dir, seed=args.seed, gif=args.gif)
    return 0
