"""Generation backends of the llm suite: hf_eager, hf_static_compile and fast_decode (own static-cache loop).

Every backend produces greedy tokens for a batch of prompts with the output length forced, and
stamps the time each token is ready on a TokenClock (CUDA events on a GPU, so no extra sync
per token; perf_counter on a CPU). The scenario turns the stamps into TTFT, ITL and TPOT.
"""
from __future__ import annotations

import inspect
import time
from abc import ABC, abstractmethod

BACKENDS = ("hf_eager", "hf_static_compile", "fast_decode")


class TokenClock:
    """Timestamps of one request: start, then one mark per generated token (milliseconds after start)."""

    def __init__(self, device: str, n_tokens: int):
        self.cuda = device == "cuda"
        self.n = n_tokens
        if self.cuda:
            import torch

            self._events = [torch.cuda.Event(enable_timing=True) for _ in range(n_tokens + 1)]
        self._t: list[float] = []
        self._i = 0

    def start(self) -> None:
        """Mark the request's start (before the prompt is processed)."""
        self._i = 0
        self._t = []
        self.tick()

    def tick(self) -> None:
        """Mark that the next token is ready (called once per step, after its argmax)."""
        if self._i > self.n:
            return  # a backend that calls once more than it produced tokens (never timed twice)
        if self.cuda:
            self._events[self._i].record()
        else:
            self._t.append(time.perf_counter())
        self._i += 1

    def marks_ms(self) -> list[float]:
        """Milliseconds from the start to each token (synchronises the GPU once, at the end)."""
        if self.cuda:
            self._events[self._i - 1].synchronize()
            return [self._events[0].elapsed_time(e) for e in self._events[1:self._i]]
        return [(t - self._t[0]) * 1e3 for t in self._t[1:]]


def _cache_arg(model) -> str:
    """The keyword this transformers version's forward takes the cache under."""
    params = inspect.signature(model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


class Backend(ABC):
    """One way to generate: `prepare` allocates and compiles for a shape, `generate` runs one request."""

    NAME = ""

    def __init__(self, model, device: str, compile: bool = True):
        self.model, self.device, self.compile = model, device, compile
        self.notes: dict = {}

    def unavailable(self) -> str:
        """Why this backend cannot run here ('' when it can)."""
        return ""

    @abstractmethod
    def prepare(self, batch: int, input_len: int, output_len: int) -> None:
        """Allocate what the shape needs (caches, graphs happen on the first call, inside warm-up)."""

    @abstractmethod
    def generate(self, ids, output_len: int, clock: TokenClock, keep_logits: int = 0):
        """Greedy tokens [batch, output_len] for `ids`; with keep_logits > 0 also the first steps' logits."""

    @abstractmethod
    def prefill(self, ids):
        """The prompt's forward pass and its first greedy token, alone (timed apart from requests)."""


class _StampEachStep:
    """A stopping criterion that never stops and stamps the clock each time a token was appended."""

    def __init__(self, clock: TokenClock, batch: int, device: str):
        import torch

        self.clock = clock
        self.never = torch.zeros(batch, dtype=torch.bool, device=device)

    def __call__(self, input_ids, scores, **kwargs):
        self.clock.tick()
        return self.never


class HfEager(Backend):
    """transformers `generate`: dynamic KV cache, SDPA attention, no compilation."""

    NAME = "hf_eager"
    GEN_KW: dict = {}

    def prepare(self, batch, input_len, output_len):
        self.batch = batch

    def _generate(self, ids, output_len, clock, keep_logits):
        import torch
        from transformers import StoppingCriteriaList

        stamp = StoppingCriteriaList([_StampEachStep(clock, ids.shape[0], ids.device)])
        clock.start()
        out = self.model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=output_len,
            min_new_tokens=output_len,  # forced length: EOS is suppressed until max_new_tokens
            pad_token_id=0, eos_token_id=None, stopping_criteria=stamp, return_dict_in_generate=True,
            output_logits=bool(keep_logits), **self.GEN_KW)
        tokens = out.sequences[:, ids.shape[1]:]
        logits = [lg.float() for lg in (out.logits or ())[:keep_logits]] if keep_logits else []
        return tokens, logits

    def generate(self, ids, output_len, clock, keep_logits=0):
        import torch

        with torch.inference_mode():
            return self._generate(ids, output_len, clock, keep_logits)

    def prefill(self, ids):
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=ids, use_cache=True, logits_to_keep=1)
            return out.logits[:, -1].argmax(-1)


class HfStaticCompile(HfEager):
    """transformers `generate` with a static KV cache; generate compiles the decode forward itself (CUDA graphs)."""

    NAME = "hf_static_compile"

    def unavailable(self):
        if not self.compile:
            return "compile is off for this grid: a static cache without compilation is not this backend"
        return ""

    def prepare(self, batch, input_len, output_len):
        from transformers import CompileConfig

        cc = CompileConfig(mode="reduce-overhead" if self.device == "cuda" else "default")
        if self.device != "cuda":
            cc._compile_all_devices = True  # generate compiles only on CUDA unless told (slow on a CPU, but real)
        self.GEN_KW = {"cache_implementation": "static", "compile_config": cc}
        self.batch = batch


class FastDecode(Backend):
    """Own gpt-fast-style loop over the model's modules: static KV cache allocated once, prefill apart,
    one compiled decode step (mode="reduce-overhead": CUDA graphs on a GPU), no host sync per token."""

    NAME = "fast_decode"

    def __init__(self, model, device, compile=True):
        super().__init__(model, device, compile)
        params = inspect.signature(model.forward).parameters
        self._cache_kw = _cache_arg(model)
        self._pass_cache_position = "cache_position" in params or "kwargs" in params
        self._step = None
        self.notes = {"decode_compiled": bool(compile), "cuda_graphs": bool(compile and device == "cuda"),
                      "compile_options": "coordinate_descent_tuning, triton.cudagraphs" if compile else ""}
        if not compile:
            self.notes["backend_note"] = ("static KV cache and own decode loop run eagerly (compile is off for this "
                                          "grid); CUDA graphs need a CUDA device")
        elif device != "cuda":
            self.notes["backend_note"] = "decode step compiled with inductor; CUDA graphs need a CUDA device"

    def prepare(self, batch, input_len, output_len):
        import torch
        from transformers import StaticCache

        self.batch, self.input_len = batch, input_len
        self.cache = StaticCache(config=self.model.config, max_cache_len=input_len + output_len)
        self.prompt_pos = torch.arange(input_len, device=self.device)
        self.pos = torch.zeros(1, dtype=torch.long, device=self.device)
        self.out = torch.zeros(batch, output_len, dtype=torch.long, device=self.device)
        step = self._forward
        if self.compile:
            # reduce-overhead's CUDA graphs plus gpt-fast's coordinate-descent tuning of the generated kernels
            # (measured on the H200: 221.6 against 197.3 tok/s at batch 1, for 70 s against 38 s of compile)
            options = {"coordinate_descent_tuning": True, "triton.cudagraphs": self.device == "cuda"}
            step = torch.compile(self._forward, options=options, fullgraph=True, dynamic=False)
        self._step = step

    def _forward(self, ids, pos):
        """One forward over `ids` at positions `pos` (1-D) with the static cache; greedy token and last logits."""
        kw = {self._cache_kw: self.cache, "position_ids": pos.unsqueeze(0).expand(ids.shape[0], -1),
              "use_cache": True, "logits_to_keep": 1}
        if self._pass_cache_position:
            kw["cache_position"] = pos
        logits = self.model(input_ids=ids, **kw).logits[:, -1]
        return logits.argmax(-1), logits

    def _rewind(self) -> None:
        """Start a new request: rewind the cache's length counters (newer transformers) or clear it."""
        layers = getattr(self.cache, "layers", [])
        counters = [getattr(layer, "cumulative_length", None) for layer in layers]
        if layers and all(c is not None and hasattr(c, "zero_") for c in counters):
            for c in counters:
                c.zero_()  # stale keys past the new prompt are masked out, so no memset is needed
        else:
            self.cache.reset()

    def prefill(self, ids):
        import torch

        with torch.inference_mode():
            self._rewind()
            return self._forward(ids, self.prompt_pos)[0]

    def generate(self, ids, output_len, clock, keep_logits=0):
        import torch

        logits = []
        with torch.inference_mode():
            clock.start()
            self._rewind()
            tok, lg = self._forward(ids, self.prompt_pos)  # prefill: eager, its own shape
            self.out[:, 0] = tok
            clock.tick()
            if keep_logits:
                logits.append(lg.float().clone())
            self.pos.fill_(self.input_len)
            for i in range(1, output_len):
                # the compiled step replays one CUDA graph; its outputs are reused buffers, so copy them out
                tok, lg = self._step(tok.unsqueeze(1).clone(), self.pos)
                self.out[:, i] = tok
                clock.tick()
                if i < keep_logits:
                    logits.append(lg.float().clone())
                self.pos += 1
            return self.out.clone(), logits


def make_backend(name: str, model, device: str, compile: bool = True) -> Backend:
    """The backend called `name`."""
    classes = {c.NAME: c for c in (HfEager, HfStaticCompile, FastDecode)}
    if name not in classes:
        raise ValueError(f"unknown llm backend {name!r}; use one of {list(BACKENDS)}")
    return classes[name](model, device, compile)
