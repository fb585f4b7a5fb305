"""TrainerSpec parsing: the zod schema of packages/core/src/trainer-contract.ts restated for Python (strict
objects, the same enums, ranges and defaults). A failure names every offending field, as the TypeScript trainer
does: `learningRate: must be > 0; data.cacheDir: required`."""

import json
import math

from .errors import BadSpecError

ARCHITECTURES = ("resnet18", "resnet50", "wide_resnet50_2", "densenet121", "densenet169", "small_cnn")
AUGMENTATIONS = ("rotation", "brightness", "hflip", "center_crop", "contrast")
SELECTION_METRICS = ("auc", "f1", "macroF1", "accuracy", "macroAuc", "valLoss")
TASKS = ("binary", "multiclass")


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int(v):
    return _num(v) and float(v).is_integer()


class _Check:
    def __init__(self):
        self.issues = []

    def add(self, path, message):
        self.issues.append(f"{'.'.join(map(str, path)) or '(root)'}: {message}")

    def obj(self, v, path, fields):
        """fields: name -> (checker, required, default). Unknown keys are refused (zod strictObject)."""
        if not isinstance(v, dict):
            self.add(path, "expected an object")
            return None
        out = {}
        for k in v:
            if k not in fields:
                self.add(path, f"unrecognized key \"{k}\"")
        for name, (check, required, default) in fields.items():
            if name not in v or v[name] is None and not required:
                if required:
                    self.add(path + [name], "required")
                elif default is not None:
                    out[name] = default
                continue
            got = check(v[name], path + [name])
            if got is not None:
                out[name] = got
        return out

    def string(self, v, path):
        if not isinstance(v, str):
            return self.add(path, "expected a string")
        return v

    def enum(self, values):
        def check(v, path):
            if v not in values:
                return self.add(path, f"expected one of {', '.join(values)}, got {json.dumps(v)}")
            return v
        return check

    def number(self, lo=None, hi=None, integer=False, lo_open=False):
        def check(v, path):
            if not (_int(v) if integer else _num(v)):
                return self.add(path, f"expected {'an integer' if integer else 'a number'}, got {json.dumps(v)}")
            if lo is not None and (v <= lo if lo_open else v < lo):
                return self.add(path, f"must be {'>' if lo_open else '>='} {lo}")
            if hi is not None and v > hi:
                return self.add(path, f"must be <= {hi}")
            return int(v) if integer else v
        return check

    def boolean(self, v, path):
        if not isinstance(v, bool):
            return self.add(path, "expected a boolean")
        return v

    def array(self, item, min_len=0):
        def check(v, path):
            if not isinstance(v, list):
                return self.add(path, "expected an array")
            if len(v) < min_len:
                return self.add(path, f"must have at least {min_len} item(s)")
            out = [item(x, path + [i]) for i, x in enumerate(v)]
            return out if all(x is not None for x in out) else None
        return check

    def record(self, v, path):
        if not isinstance(v, dict):
            return self.add(path, "expected an object")
        return v


def _data_fields(c):
    scenario = lambda v, p: c.obj(v, p, {
        "key": (c.string, True, None),
        "modality": (c.enum(("ct", "radiograph")), True, None),
        "task": (c.enum(TASKS), True, None),
        "classes": (c.array(c.string, 2), True, None),
        "positiveClass": (c.string, True, None),
        "filters": (c.record, False, {}),
        "minPerClass": (c.number(0, integer=True), False, 0),
    })
    return lambda v, p: c.obj(v, p, {
        "datasetVersionId": (c.string, True, None),
        "datasetDir": (c.string, True, None),
        "cacheDir": (c.string, True, None),
        "scenario": (scenario, True, None),
    })


def parse_spec(text: str) -> dict:
    try:
        raw = json.loads(text)
    except ValueError as e:
        raise BadSpecError(f"stdin is not a JSON TrainerSpec: {e}")
    c = _Check()
    data = _data_fields(c)
    evaluate = lambda v, p: c.obj(v, p, {
        "weightsPath": (c.string, True, None),
        "epoch": (c.number(1, integer=True), True, None),
        "images": (c.array(c.string, 1), True, None),
        "trainedOn": (data, True, None),
    })
    spec = c.obj(raw, [], {
        "trialId": (c.string, True, None),
        "attempt": (c.number(1, integer=True), True, None),
        "seed": (c.number(integer=True), True, None),
        "architecture": (c.enum(ARCHITECTURES), True, None),
        "stage": (c.enum(("search", "final", "evaluate")), True, None),
        "task": (c.enum(TASKS), True, None),
        "learningRate": (c.number(0, lo_open=True), True, None),
        "augmentations": (c.array(c.enum(AUGMENTATIONS)), True, None),
        "augmentationParams": (lambda v, p: c.obj(v, p, {
            "rotationDegrees": (c.number(0, 180), True, None),
            "brightness": (c.number(0, 1), True, None),
            "contrast": (c.number(0, 1), True, None),
            "centerCropFraction": (c.number(0, 1, lo_open=True), True, None),
        }), True, None),
        "epochs": (c.number(1, integer=True), True, None),
        "batchSize": (c.number(1, integer=True), True, None),
        "imageSize": (c.number(8, integer=True), True, None),
        "schedule": (lambda v, p: c.obj(v, p, {
            "stepSize": (c.number(1, integer=True), True, None),
            "gamma": (c.number(0, 1, lo_open=True), True, None),
        }), True, None),
        "earlyStopping": (lambda v, p: c.obj(v, p, {
            "patience": (c.number(1, integer=True), True, None),
            "minDelta": (c.number(0), False, 0),
        }), False, None),
        "selectionMetric": (c.enum(SELECTION_METRICS), True, None),
        "data": (data, True, None),
        "checkpointDir": (c.string, True, None),
        "outputDir": (c.string, True, None),
        "pretrained": (c.string, False, None),
        "pretrainedHead": (c.enum(("replace", "import_if_fits")), False, None),
        "backend": (c.enum(("tensorflow-gpu", "tensorflow", "wasm", "cpu")), False, None),
        "evaluateTest": (c.boolean, False, False),
        "evaluate": (evaluate, False, None),
    })
    if c.issues:
        raise BadSpecError(f"invalid TrainerSpec: {'; '.join(c.issues)}")
    spec.setdefault("evaluateTest", False)
    return spec


def trial_fingerprint(spec: dict) -> dict:
    """The spec fields that determine a trial's trajectory: a checkpoint is resumed only by the same ones."""
    return {
        "trialId": spec["trialId"], "seed": spec["seed"], "architecture": spec["architecture"],
        "stage": spec["stage"], "task": spec["task"], "learningRate": spec["learningRate"],
        "augmentations": spec["augmentations"], "augmentationParams": spec["augmentationParams"],
        "batchSize": spec["batchSize"], "imageSize": spec["imageSize"], "schedule": spec["schedule"],
        "earlyStopping": spec.get("earlyStopping"), "selectionMetric": spec["selectionMetric"],
        "datasetVersionId": spec["data"]["datasetVersionId"], "scenario": spec["data"]["scenario"],
        "pretrained": spec.get("pretrained"),
    }
