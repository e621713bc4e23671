"""Hyperparameter search with Optuna's study machinery and fovea's training runs.

fovea provides the *objective*: a trial draws its options from the search space, trains a
normal run directory ``OUT/trials/trial-NNNN`` with ``fovea.train.run.train`` and reports
the validation accuracy after every epoch, so the pruner (successive halving / ASHA by
default) stops poor trials early. Optuna provides the samplers, the pruners and the storage:

* one machine: ``OUT/study.db`` (SQLite), shared by ``jobs`` worker processes; rerunning
  the same command continues the study (trials left running by an interrupted worker of this
  machine are marked failed and their options queued again);
* many machines: every worker points at one ``storage`` URL (PostgreSQL, MySQL, an SQLite or
  journal file on a shared disk); Optuna gives each new trial a unique number in one
  transaction, so no trial is run twice, and each machine writes the run directories of its
  own trials.

A worker keeps starting trials while fewer than ``trials`` are complete, pruned or running.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["TrialReporter", "default_storage", "load_study", "objective", "run_tune",
           "run_worker"]

STUDY_NAME = "fovea"


def _optuna():
    try:
        import optuna
    except ImportError:
        raise ImportError("fovea tune needs Optuna: pip install 'fovea[tune]' (or pip install "
                          "optuna)") from None
    return optuna


def default_storage(out) -> str:
    """The study file of an output directory: ``sqlite:///OUT/study.db``."""
    return f"sqlite:///{Path(out).resolve() / 'study.db'}"


def _storage(url: str):
    """An Optuna storage for ``url``; SQLite waits for its lock instead of failing at once,
    and a ``.log`` / ``.jsonl`` path is Optuna's journal file (works on NFS)."""
    optuna = _optuna()
    if url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    if url.endswith((".log", ".jsonl")) and "://" not in url:
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(url))
    return url


def _pruner(name: str):
    p = _optuna().pruners
    if name in ("asha", "sha"):
        return p.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    if name == "hyperband":
        return p.HyperbandPruner(min_resource=1, reduction_factor=3)
    if name == "median":
        return p.MedianPruner(n_startup_trials=4, n_warmup_steps=1)
    if name == "none":
        return p.NopPruner()
    raise ValueError(f"tune: invalid --pruner {name!r}: expected asha, hyperband, median or "
                     f"none")


def _sampler(name: str, seed: int | None):
    s = _optuna().samplers
    if name == "random":
        return s.RandomSampler(seed=seed)
    if name == "tpe":
        return s.TPESampler(seed=seed)
    raise ValueError(f"tune: invalid --sampler {name!r}: expected random or tpe")


def load_study(storage: str, study_name: str = STUDY_NAME, *, create: bool = False,
               pruner: str = "asha", sampler: str = "random", seed: int | None = None):
    """The Optuna study (maximising validation accuracy) in ``storage``."""
    optuna = _optuna()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    st = _storage(storage)
    if create:
        return optuna.create_study(storage=st, study_name=study_name, direction="maximize",
                                   load_if_exists=True, pruner=_pruner(pruner),
                                   sampler=_sampler(sampler, seed))
    try:
        return optuna.load_study(study_name=study_name, storage=st)
    except KeyError:
        raise ValueError(f"tune: no study {study_name!r} in {storage}") from None


class TrialReporter:
    """A Trainer callback: report each epoch's validation accuracy; stop a pruned trial."""

    def __init__(self, trial, epochs: int):
        self.trial, self.epochs = trial, epochs

    def on_epoch_end(self, trainer) -> None:
        self.trial.report(trainer.history.val_acc[-1], step=trainer.epoch)
        # After the last epoch there is nothing left to save: the trial completes.
        if trainer.epoch < self.epochs and self.trial.should_prune():
            raise _optuna().TrialPruned(f"pruned after epoch {trainer.epoch}")


def objective(trial, space, out: Path, log=print) -> float:
    """Train one run with the trial's options; return its best validation accuracy."""
    from fovea.train.run import TrainConfig, train

    values = space.sample(trial)
    run_dir = Path(out) / "trials" / f"trial-{trial.number:04d}"
    trial.set_user_attr("run_dir", str(run_dir))
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    cfg = TrainConfig(**values)
    cfg.with_dataset_defaults(given=set(values))
    cfg.out, cfg.progress = str(run_dir), False
    from fovea.train.trainer import TrainingDiverged

    def trial_log(line: str) -> None:
        log(f"[trial {trial.number}] {line}")

    trial_log(", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in sorted(values.items()) if k in space.searched))
    try:
        m = train(cfg, log=trial_log, given=set(values),
                  callbacks=[TrialReporter(trial, cfg.epochs)])
    except TrainingDiverged as exc:
        # A diverged run is a result (too high a learning rate), not an error: it stopped
        # early, as a pruned trial does.
        trial.set_user_attr("diverged", str(exc))
        trial_log(f"diverged: {exc}")
        raise _optuna().TrialPruned(f"diverged: {exc}") from None
    trial.set_user_attr("test_accuracy", m["test_accuracy"])
    trial.set_user_attr("seconds", m["seconds"])
    return m["val_accuracy"]


def _counted(study) -> int:
    states = _optuna().trial.TrialState
    return len(study.get_trials(deepcopy=False, states=(states.COMPLETE, states.PRUNED,
                                                         states.RUNNING)))


def _requeue_dead_trials(study, log) -> None:
    """Trials RUNNING on this host whose process is gone (an interrupted run) become FAIL,
    and their options are queued again."""
    optuna = _optuna()
    host = socket.gethostname()
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        pid = t.user_attrs.get("pid")
        if t.user_attrs.get("host") != host or pid is None or _alive(pid):
            continue
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(t.params)
        log(f"trial {t.number} was interrupted (process {pid} is gone): marked failed, its "
            f"options queued again")


def _alive(pid: int) -> bool:
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_worker(space_path, out, trials: int, storage: str, study_name: str = STUDY_NAME,
               pruner: str = "asha", sampler: str = "random", seed: int | None = None,
               log=print) -> int:
    """One worker: run trials until ``trials`` are complete, pruned or running; returns how
    many this worker finished."""
    from fovea.tune.space import load_space

    fail = _optuna().trial.TrialState.FAIL
    space = load_space(space_path)
    study = load_study(storage, study_name, create=True, pruner=pruner, sampler=sampler,
                       seed=seed)
    done = failures = 0
    mine: list = []  # this worker's finished trials (others may finish meanwhile)
    while _counted(study) < trials:
        study.optimize(lambda t: objective(t, space, Path(out), log), n_trials=1,
                       catch=(ValueError, OSError, RuntimeError),
                       callbacks=[lambda _study, frozen: mine.append(frozen)])
        done += 1
        failures = failures + 1 if mine and mine[-1].state == fail else 0
        if failures >= 3:  # the same error again and again: a broken space, not bad luck
            raise RuntimeError("tune: 3 trials in a row failed; see the errors above (a "
                               "wrong option in the search space?)")
    return done


def run_tune(space_path, out, trials: int = 20, jobs: int = 1, storage: str | None = None,
             study_name: str = STUDY_NAME, pruner: str = "asha", sampler: str = "random",
             seed: int | None = None, log=print) -> dict:
    """``fovea tune``: ``jobs`` worker processes on this machine share the study; returns the
    summary of :func:`fovea.tune.report.summary` (and writes the report into ``out``)."""
    from fovea.tune.report import write_report
    from fovea.tune.space import load_space

    space = load_space(space_path)  # refuse a bad file before starting anything
    if not (isinstance(trials, int) and trials >= 1):
        raise ValueError(f"tune: invalid --trials {trials!r}: expected an integer >= 1")
    if not (isinstance(jobs, int) and jobs >= 1):
        raise ValueError(f"tune: invalid --jobs {jobs!r}: expected an integer >= 1")
    out = Path(out)
    (out / "trials").mkdir(parents=True, exist_ok=True)
    storage = storage or default_storage(out)
    study = load_study(storage, study_name, create=True, pruner=pruner, sampler=sampler,
                       seed=seed)
    study.set_user_attr("fixed", space.fixed)  # for refine (coarse to fine)
    _requeue_dead_trials(study, log)
    if jobs == 1:
        run_worker(space_path, out, trials, storage, study_name, pruner, sampler, seed, log)
    else:
        _run_processes(space_path, out, trials, jobs, storage, study_name, pruner, sampler,
                       seed)
    return write_report(load_study(storage, study_name), out)


def _run_processes(space_path, out, trials, jobs, storage, study_name, pruner, sampler,
                   seed) -> None:
    """``jobs`` worker processes (``fovea tune --worker``), each with an equal share of the
    CPU's threads and its own sampler seed."""
    threads = str(max(1, (os.cpu_count() or 1) // jobs))
    env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
               MKL_NUM_THREADS=threads, NUMBA_NUM_THREADS=threads)
    procs = []
    for k in range(jobs):
        cmd = [sys.executable, "-m", "fovea.cli", "tune", str(space_path), "--out", str(out),
               "--trials", str(trials), "--storage", storage, "--study-name", study_name,
               "--pruner", pruner, "--sampler", sampler, "--worker"]
        if seed is not None:
            cmd += ["--seed", str(seed + k)]
        procs.append(subprocess.Popen(cmd, env=env))
        time.sleep(0.5)  # the first creates the study tables before the others connect
    try:
        codes = [p.wait() for p in procs]
    except KeyboardInterrupt:
        for p in procs:
            p.wait()
        raise
    bad = [c for c in codes if c]
    if bad:
        raise RuntimeError(f"tune: {len(bad)} of {jobs} worker processes failed (exit codes "
                           f"{bad}); rerun the same command to continue the study")
