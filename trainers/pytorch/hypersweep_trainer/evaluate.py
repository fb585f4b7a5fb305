"""Evaluate mode (stage "evaluate"): no training. The spec's architecture for the scenario's classes, the weights
of `evaluate.weightsPath` (a model.safetensors this trainer published), the listed images of spec.data's version
normalised with the statistics of the training split of `evaluate.trainedOn`; answers `ready`, then one
`result` whose predictions.test holds the images in the listed order."""

from .safetensors_io import SafetensorsError, load_safetensors
from .data import TrialData
from .errors import DataError
from .train import Trial, predictions_of


def evaluate(spec: dict, emit, log, device, backend: dict) -> dict:
    ev = spec.get("evaluate")
    if not ev:
        raise DataError("stage \"evaluate\" without an evaluate block")
    weights = ev["weightsPath"]
    if not weights.endswith(".safetensors"):
        raise DataError(f"evaluate.weightsPath {weights} is not a .safetensors file: weights a TensorFlow.js trainer "
                        "published (model.json) are scored by that trainer")
    trained = TrialData(ev["trainedOn"], spec["imageSize"])
    data = TrialData(spec["data"], spec["imageSize"], stats=trained.stats, test_images=ev["images"])
    trial = Trial(spec, data, emit, log, device, backend)
    try:
        trial.model.load_state_dict(load_safetensors(weights))
    except (OSError, RuntimeError, SafetensorsError) as e:
        raise DataError(f"weights {weights} do not fit {spec['architecture']} with {len(data.classes)} classes: {e}")
    emit({"type": "ready", "backend": backend["name"], "versions": backend["versions"]})
    labels, probs, _ = trial.predict("test")
    return {"type": "result", "bestEpoch": ev["epoch"], "metrics": {},
            "predictions": {"test": predictions_of(data.hashes["test"], labels, probs)}}
