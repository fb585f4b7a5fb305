"""The PyTorch trainer process: `python3 -m hypersweep_trainer` (PYTHONPATH=trainers/pytorch). Reads one
TrainerSpec as JSON on stdin, writes one TrainerMessage per line on stdout (packages/core/src/trainer-contract.ts),
logs on stderr. Exit codes: 0 after `result`; 2 after `error` bad_spec; 143 after `error` cancelled; 1 otherwise.

SIGTERM (or SIGINT) stops the trial between two batches (the last completed epoch is checkpointed) with `error`
cancelled; if one step blocks longer than HARD_STOP_S after the signal, the same line is written and the process
exits without waiting. The signals are taken by a thread of their own (sigwait), so they are seen at once even
while the main thread is inside a long torch operation. An orphan (its parent, the worker, died) exits at once
and writes no further checkpoint."""

import json
import os
import signal
import sys
import threading
import time

from .errors import EXIT_CANCELLED, EXIT_FAILED, EXIT_OK, BadSpecError, TrainerError
from .runtime import CANCEL
from .spec import parse_spec

HARD_STOP_S = 8.0
THREADS_ENV = "HYPERSWEEP_TRAINER_THREADS"
_out_lock = threading.Lock()


def emit(message: dict) -> None:
    line = json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n"
    with _out_lock:
        try:
            sys.stdout.write(line)
            sys.stdout.flush()
        except (BrokenPipeError, OSError):
            os._exit(EXIT_FAILED)  # the worker is gone


def log(line: str) -> None:
    sys.stderr.write(f"[trainer] {line}\n")
    sys.stderr.flush()


def _watch_signals() -> None:
    sig = signal.sigwait({signal.SIGTERM, signal.SIGINT})
    log(f"{signal.Signals(sig).name}: stopping after the current batch")
    CANCEL.set()
    time.sleep(HARD_STOP_S)
    emit({"type": "error", "reason": "cancelled", "message": f"{signal.Signals(sig).name}: hard stop after {HARD_STOP_S:g} s"})
    os._exit(EXIT_CANCELLED)


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(EXIT_FAILED)


def threads_from_env() -> int | None:
    raw = os.environ.get(THREADS_ENV, "")
    if raw == "":
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 256:
        raise BadSpecError(f"{THREADS_ENV} must be an integer from 1 to 256, got {json.dumps(raw)}")
    return int(raw)


def select_backend(spec: dict, threads: int | None) -> tuple:
    import platform

    import torch
    import torchvision

    if threads is not None:
        torch.set_num_threads(threads)
    cuda = spec.get("backend") != "cpu" and torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    versions = {"torch": torch.__version__, "torchvision": torchvision.__version__, "python": platform.python_version()}
    if cuda:
        torch.backends.cudnn.benchmark = True
        versions["device"] = torch.cuda.get_device_name(0)
        versions["cuda"] = str(torch.version.cuda)
    else:
        versions["threads"] = str(torch.get_num_threads())
    return device, {"name": "torch-cuda" if cuda else "torch-cpu", "versions": versions}


def run() -> int:
    try:
        spec = parse_spec(sys.stdin.read())
        threads = threads_from_env()
        log(f"trial {spec['trialId']} attempt {spec['attempt']}: {spec['architecture']} {spec['stage']} lr {spec['learningRate']}")
        device, backend = select_backend(spec, threads)
        log(f"backend {backend['name']} {backend['versions']}")
        if spec["stage"] == "evaluate":
            from .evaluate import evaluate

            result = evaluate(spec, emit, log, device, backend)
        else:
            from .data import TrialData
            from .train import Trial

            data = TrialData(spec["data"], spec["imageSize"])
            result = Trial(spec, data, emit, log, device, backend).run()
        emit(result)
        return EXIT_OK
    except TrainerError as e:
        log(f"{type(e).__name__}: {e.message}")
        emit({"type": "error", "reason": e.reason, "message": e.message})
        return e.exit_code
    except Exception as e:  # anything else is the trainer's fault: report it, never a silent crash
        import traceback

        log(traceback.format_exc())
        emit({"type": "error", "reason": "internal", "message": f"{type(e).__name__}: {e}"})
        return EXIT_FAILED


def main() -> None:
    # Block the stop signals before any thread starts (torch's pools inherit the mask), then take them in one
    # thread of our own.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    threading.Thread(target=_watch_signals, name="signals", daemon=True).start()
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="parent", daemon=True).start()
    code = run()
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
