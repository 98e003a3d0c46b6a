"""No slow paths in sampling on the CPU (issue 19): one-token steps on one torch thread, the
setting restored for everyone else, and small jobs left to the eager step."""

import threading

import torch

import creative_rnn as cr
from creative_rnn import engine
from creative_rnn.core.device import SMALL_STEP_ROWS, small_step_threads
from creative_rnn.sampling import generator as generator_module


def test_small_steps_run_on_one_thread_and_the_setting_is_restored(tiny_text_run, monkeypatch):
    gen = cr.load(tiny_text_run, engine="torch")
    seen = []
    rnn_forward = type(gen.model.rnn).forward

    def spy(self, *args, **kwargs):
        seen.append(torch.get_num_threads())
        return rnn_forward(self, *args, **kwargs)

    monkeypatch.setattr(type(gen.model.rnn), "forward", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        gen.generate(prime="The", length=20, num=2, seed=1)
        assert seen and set(seen) == {1}  # the prime and every step
        assert torch.get_num_threads() == 2
        # a thread started afterwards (the studio's training) inherits two threads, not one
        inherited = []
        t = threading.Thread(target=lambda: inherited.append(torch.get_num_threads()))
        t.start()
        t.join()
        assert inherited == [2]
        # a large batch keeps torch's threads: its products gain from them
        seen.clear()
        gen.generate(prime="The", length=3, num=SMALL_STEP_ROWS + 1, seed=1)
        assert set(seen) == {2}
    finally:
        torch.set_num_threads(before)


def test_small_step_threads_leaves_other_devices_and_one_thread_alone():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with small_step_threads(torch.device("meta"), 1):
            assert torch.get_num_threads() == 2
        with small_step_threads(torch.device("cpu"), 1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_small_job_samples_on_the_eager_step_and_a_seed_gives_the_same_samples_anywhere(
        tiny_text_run, monkeypatch):
    gen = cr.load(tiny_text_run)  # engine="auto"
    built = []
    from_model = engine.StepEngine.from_model

    def spy(model, *args, **kwargs):
        built.append(model)
        return from_model(model, *args, **kwargs)

    monkeypatch.setattr(generator_module.StepEngine, "from_model", staticmethod(spy))
    small = generator_module.SMALL_JOB_TOKENS // 4
    first = gen.generate(prime="The", length=small, num=2, seed=3)
    assert not built  # a small job: the eager step, no engine to load
    gen.generate(prime="The", length=generator_module.SMALL_JOB_TOKENS, num=1, seed=3)
    assert len(built) == 1  # a large job takes the engine
    # the engine has run in this process now; the same small job still gives the same samples
    assert gen.generate(prime="The", length=small, num=2, seed=3) == first
    assert len(built) == 1
    # engine="fast" always takes the engine
    cr.load(tiny_text_run, engine="fast").generate(prime="The", length=small, seed=3)
    assert len(built) == 2
