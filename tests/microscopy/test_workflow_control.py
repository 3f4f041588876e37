"""The files a job and its FOV workers talk through: progress records and the stop flag."""

from __future__ import annotations

import os
import pickle

from services.microscopy.core.workflow.control import (
    FovProgress,
    ProgressFile,
    StopFlag,
    control_dir,
    read_progress,
)


def test_progress_is_written_at_step_boundaries_and_read_back(tmp_path):
    folder = control_dir(tmp_path, "job")
    folder.mkdir(parents=True)
    assert read_progress(folder, 3) is None
    progress = ProgressFile(folder, 3)
    progress("copying", 1, 10)
    assert read_progress(folder, 3) == FovProgress(3, "copying", 1, 10)
    progress("copying", 2, 10)  # within the throttle interval: not written
    assert read_progress(folder, 3).done == 1
    progress("segmentation", 1, 10)  # a new step always is
    progress("segmentation", 10, 10)  # and so is a step's last frame
    assert read_progress(folder, 3) == FovProgress(3, "segmentation", 10, 10)
    assert [path.name for path in folder.iterdir()] == ["fov_003.json"]  # no temporary left


def test_progress_travels_to_workers_without_its_throttle_state(tmp_path):
    progress = ProgressFile(tmp_path, 0)
    progress("copying", 1, 5)
    copy = pickle.loads(pickle.dumps(progress))
    copy("copying", 2, 5)  # a fresh copy writes at once
    assert read_progress(tmp_path, 0).done == 2


def test_stop_flag_raised_and_lowered(tmp_path):
    flag = StopFlag(control_dir(tmp_path, "job"))
    assert not flag()
    flag.raise_flag()
    assert flag() and pickle.loads(pickle.dumps(flag))()
    flag.lower_flag()
    assert not flag()


def test_a_worker_whose_parent_is_gone_stops(tmp_path):
    assert not StopFlag(tmp_path, parent_pid=os.getppid())()  # a pool worker of a live parent
    assert not StopFlag(tmp_path, parent_pid=os.getpid())()  # a thread of the job's process
    assert StopFlag(tmp_path, parent_pid=2**22 + 1)()  # its parent died: re-parented
