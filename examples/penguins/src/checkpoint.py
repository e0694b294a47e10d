"""A resumable stage's checkpoint folder: the contract cd4ml's spot resume relies on.

cd4ml saves the folder named by cd4ml.yaml `repro.checkpoint` when EC2 reclaims a
spot instance, and puts it back on the replacement before `dvc repro`. A stage
that wants to resume reads it if present, writes it every few steps, and removes
it when it has finished. The fingerprint (the stage's inputs) makes a checkpoint
from other data or params count as none.
"""
import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

from common import ROOT


class Checkpoint:
    def __init__(self, folder, fingerprint):
        self.dir = ROOT / folder
        self.fingerprint = hashlib.sha256(pickle.dumps(fingerprint)).hexdigest()

    def load(self):
        """The saved state, or {} when there is none for these inputs."""
        try:
            saved = json.loads((self.dir / "state.json").read_text())
        except (OSError, ValueError):
            return {}
        return saved.get("state", {}) if saved.get("fingerprint") == self.fingerprint else {}

    def save(self, state):
        """Atomically: a stage stopped mid-write leaves the previous checkpoint whole."""
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps({"fingerprint": self.fingerprint, "state": state}))
        os.replace(tmp, self.dir / "state.json")

    def clear(self):
        shutil.rmtree(self.dir, ignore_errors=True)
