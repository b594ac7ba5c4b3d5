"""The engine's thread policy: one intra-op thread per window, all cores per batch, applied per
call on every backend, and the caller's own torch thread count left as it was."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from algospace.config import AppConfig, ThreadPolicy, load_config, set_config
from algospace.engines.rde import RegimeDetectionEngine
from algospace.engines.threads import aoti_threads, available_cores, intra_op_threads, threads_for
from algospace.errors import ConfigError, InputError

CALLER = 2  # the caller's own setting in these tests; the policy's counts differ from it


@pytest.fixture()
def caller_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(CALLER)
    yield CALLER
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def setup(tiny_rde):
    path, bars30 = tiny_rde
    eager = RegimeDetectionEngine.load(path, device="cpu", backend="torch-eager", threads=ThreadPolicy(single=1, batch=3))
    feats = eager.features(bars30.iloc[-120:])
    return path, eager, feats


def _seen_threads(engine: RegimeDetectionEngine) -> tuple[list[int], torch.utils.hooks.RemovableHandle]:
    """torch's intra-op thread count as the model's first layer sees it, call by call (a forward hook)."""
    seen: list[int] = []
    handle = engine.model.input_projection.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    return seen, handle


def test_each_call_runs_under_the_policy_and_restores_the_callers_threads(setup, caller_threads):
    _, eager, feats = setup
    values = feats.to_numpy(np.float32)
    t = eager.window
    seen, handle = _seen_threads(eager)
    try:
        eager.get_regime_vector(values[:t])
        assert seen == [1] and torch.get_num_threads() == caller_threads
        eager.get_regime_vectors(np.stack([values[i : i + t] for i in range(5)]))
        assert seen[-1] == 3 and torch.get_num_threads() == caller_threads
        eager.get_regime_vectors(values[None, :t])  # a batch of one window is a single window
        assert seen[-1] == 1
        eager.regime_series(feats)
        assert seen[-1] == 3 and torch.get_num_threads() == caller_threads
        with pytest.raises(InputError):
            eager.get_regime_vector(values[:t, :3])
        assert torch.get_num_threads() == caller_threads
    finally:
        handle.remove()


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_fast_backends_leave_the_callers_threads_alone(setup, caller_threads, backend):
    path, eager, feats = setup
    engine = RegimeDetectionEngine.load(path, device="cpu", backend=backend, threads=ThreadPolicy(single=1, batch=3))
    values = feats.to_numpy(np.float32)
    t = engine.window
    np.testing.assert_allclose(engine.get_regime_vector(values[:t]), eager.get_regime_vector(values[:t]), atol=1e-4)
    batch = np.stack([values[i : i + t] for i in range(4)])
    np.testing.assert_allclose(engine.get_regime_vectors(batch), eager.get_regime_vectors(batch), atol=1e-4)
    assert torch.get_num_threads() == caller_threads


def test_onnxruntime_keeps_a_session_per_thread_count(setup):
    path, _, _ = setup
    engine = RegimeDetectionEngine.load(path, device="cpu", backend="onnxruntime", threads=ThreadPolicy(single=1, batch=2))
    runner = engine._runner
    assert runner._session.get_session_options().intra_op_num_threads == 1
    assert runner._batch_session.get_session_options().intra_op_num_threads == 2


def test_aoti_code_is_generated_for_the_single_window_count():
    from torch._inductor.utils import parallel_num_threads  # what inductor's codegen reads

    with intra_op_threads(2), aoti_threads(1):
        assert parallel_num_threads() == 1
    assert parallel_num_threads() == torch.get_num_threads()


def test_the_context_restores_on_error(caller_threads):
    with pytest.raises(ValueError), intra_op_threads(1):
        assert torch.get_num_threads() == 1
        raise ValueError("inside")
    assert torch.get_num_threads() == caller_threads


def test_policy_defaults_and_configuration(setup, tmp_path):
    path, _, _ = setup
    assert threads_for(ThreadPolicy(), 1) == 1 and threads_for(ThreadPolicy(), 256) == available_cores()
    assert threads_for(ThreadPolicy(single=2, batch=1), 1) == 2 and threads_for(ThreadPolicy(single=2, batch=1), 9) == 1
    cfg_file = tmp_path / "a.yaml"
    cfg_file.write_text("engine:\n  threads: {single: 2, batch: 1}\n")
    set_config(load_config(cfg_file))
    try:
        engine = RegimeDetectionEngine.load(path, device="cpu", backend="torch-eager")
        assert engine.threads == ThreadPolicy(single=2, batch=1)
    finally:
        set_config(AppConfig())
    assert RegimeDetectionEngine.load(path, device="cpu", backend="torch-eager").threads == ThreadPolicy()
    cfg_file.write_text("engine:\n  threads: {single: 0}\n")
    with pytest.raises(ConfigError, match="engine.threads.single"):
        load_config(cfg_file)
    with pytest.raises(InputError, match="ThreadPolicy"):
        RegimeDetectionEngine.load(path, device="cpu", backend="torch-eager", threads=1)  # type: ignore[arg-type]
