"""Every way a trial stops early, as an error whose `reason` is the trainer contract's `error.reason`
(packages/core/src/trainer-contract.ts) and whose exit code the process returns."""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_SPEC = 2
EXIT_CANCELLED = 143


class TrainerError(Exception):
    reason = "internal"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    @property
    def exit_code(self) -> int:
        if self.reason == "bad_spec":
            return EXIT_BAD_SPEC
        if self.reason == "cancelled":
            return EXIT_CANCELLED
        return EXIT_FAILED


class BadSpecError(TrainerError):
    """The spec on stdin is not JSON or not a TrainerSpec; the message names every offending field."""

    reason = "bad_spec"


class DataError(TrainerError):
    """The trial's data (dataset version, cache, an image, pretrained weights) cannot be read."""

    reason = "data"


class DivergedError(TrainerError):
    reason = "diverged"

    def __init__(self, epoch: int, where: str, value: float):
        super().__init__(f"loss diverged at epoch {epoch} ({where}): {value}")


class CancelledError(TrainerError):
    """Stopped on SIGTERM between batches; the last completed epoch's checkpoint is on disk."""

    reason = "cancelled"

    def __init__(self, last_checkpoint_epoch: int):
        super().__init__(f"cancelled; last checkpoint is after epoch {last_checkpoint_epoch}")


class CheckpointError(TrainerError):
    reason = "internal"
