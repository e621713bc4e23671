"""Training: the Trainer (the lectures' Solver), checkpoints, the run report, the main job."""

from fovea.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from fovea.train.trainer import History, Trainer, TrainingDiverged, accuracy
