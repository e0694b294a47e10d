import type { GateConfig } from '@cd4ml/contracts';

// What `cd4ml check` prints under a failed output: the lines to add to the
// training code, for the two common frameworks. Names follow the project's gate.

export type SnippetKind = 'model' | 'metrics' | 'smoke' | 'holdout';

function modelSnippet(gate: GateConfig, file: string): string {
  const outputs = gate.task === 'classification' ? [gate.labelOutput, gate.probabilitiesOutput] : [gate.predictionOutput];
  const torchOut = gate.task === 'classification' ? gate.probabilitiesOutput : gate.predictionOutput;
  return `  scikit-learn (skl2onnx):
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    onx = convert_sklearn(pipeline, initial_types=[("input", FloatTensorType([None, X.shape[1]]))],
${gate.task === 'classification'
    ? `                          options={id(pipeline.steps[-1][1]): {"zipmap": False}})  # outputs ${outputs.join(', ')} as plain tensors`
    : `                          final_types=[("${gate.predictionOutput}", FloatTensorType([None, 1]))])`}
    open("${file}", "wb").write(onx.SerializeToString())
  PyTorch (torch.onnx):
    model.eval()${gate.task === 'classification' ? '  # end the model with torch.nn.Softmax(dim=1): cd4ml reads probabilities (labels by argmax)' : ''}
    torch.onnx.export(model, torch.zeros(1, n_features), "${file}", input_names=["input"],
                      output_names=["${torchOut}"], dynamic_axes={"input": {0: "rows"}, "${torchOut}": {0: "rows"}})`;
}

const TENSOR_HELPER = `    import json, numpy as np
    def tensor(name, datatype, a):  # Open Inference Protocol layout: flat data + shape
        a = np.ascontiguousarray(a, dtype={"FP32": np.float32, "INT64": np.int64}[datatype])
        return {"name": name, "datatype": datatype, "shape": list(a.shape), "data": a.reshape(-1).tolist()}`;

function smokeSnippet(gate: GateConfig, file: string): string {
  const expected = gate.task === 'classification'
    ? `[tensor("${gate.labelOutput}", "INT64", label), tensor("${gate.probabilitiesOutput}", "FP32", proba)]`
    : `[tensor("${gate.predictionOutput}", "FP32", pred)]`;
  const run = gate.task === 'classification'
    ? `label, proba = sess.run(["${gate.labelOutput}", "${gate.probabilitiesOutput}"], {"input": xs})`
    : `(pred,) = sess.run(["${gate.predictionOutput}"], {"input": xs})`;
  return `  a few rows and what the exported model gives for them (onnxruntime, after the export):
${TENSOR_HELPER}
    xs = X_holdout[:5].astype(np.float32)
    ${run}
    json.dump({"inputs": [tensor("input", "FP32", xs)], "expectedOutputs": ${expected},
               "tolerance": 1e-4}, open("${file}", "w"))`;
}

function holdoutSnippet(gate: GateConfig, file: string): string {
  const truth = gate.task === 'classification'
    ? `"classes": classes,                       # class names, in index order\n               "labels": [int(v) for v in y_holdout]}`
    : `"targets": [float(v) for v in y_holdout],\n               "targetRange": {"min": float(y_train.min()), "max": float(y_train.max())}}`;
  return `  rows the model never saw, with their truth (cd4ml scores the model on them itself):
${TENSOR_HELPER}
    json.dump({"features": feature_names, "inputs": [tensor("input", "FP32", X_holdout)],
               ${truth}, open("${file}", "w"))`;
}

function metricsSnippet(gate: GateConfig, file: string): string {
  const key = gate.reportedMetric ?? gate.metric;
  return `  the training code's own figures, and the cross-validation score of each fold:
    scores = sklearn.model_selection.cross_val_score(pipeline, X, y, cv=5)   # or your own folds
    json.dump({"${key}": float(${key}_on_holdout), "folds": [float(s) for s in scores]}, open("${file}", "w"))
  and in dvc.yaml, under the stage writing it:  metrics: [{${file}: {cache: false}}]`;
}

/** The snippet for one of cd4ml's files, with the project's paths and output names. */
export function snippetFor(kind: SnippetKind, gate: GateConfig, file: string): string {
  return { model: modelSnippet, metrics: metricsSnippet, smoke: smokeSnippet, holdout: holdoutSnippet }[kind](gate, file);
}
