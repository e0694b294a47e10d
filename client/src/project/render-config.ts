import { stringify } from 'yaml';
import { parseProjectConfig } from '@cd4ml/contracts';
import type { DvcPipeline } from './dvc-pipeline.ts';
import type { InitAnswers } from './infer-config.ts';

// The cd4ml.yaml that `cd4ml init` writes: every value with a comment saying where
// it came from, and the optional sections commented out, so the file teaches itself.

/** A YAML scalar as it must appear after `key: ` (quoted only when needed). */
const scalar = (v: string | number): string => stringify(v).trimEnd();

const from = (a: { from: string; guessed?: boolean }): string => `# ${a.guessed ? 'GUESSED, check it: ' : ''}${a.from}`;

/** The commented cd4ml.yaml text; validated against the contracts' schema before it is returned. */
export function renderConfig(a: InitAnswers, p: DvcPipeline): string {
  const sections = Object.keys(p.params);
  const text = `# cd4ml.yaml: written by \`cd4ml init\`; every key is described in cd4ml's README ("Your project: cd4ml.yaml").
# Check the project against it with \`cd4ml check\` (runs dvc repro once, then the gate's checks).
project: ${scalar(a.project.value)}   ${from(a.project)}

# What the DVC pipeline writes, relative to this file (formats: contracts/src/candidate.ts).
outputs:
  model: ${scalar(a.model.value)}   ${from(a.model)}; ONNX, outputs as plain tensors
  metrics: ${scalar(a.metrics.value)}   ${from(a.metrics)}; {"${a.metric.value}": ..., "folds": [...]}
  smoke: ${scalar(a.smoke.value)}   ${from(a.smoke)}; inputs + expected outputs
  holdout: ${scalar(a.holdout.value)}   ${from(a.holdout)}; rows the model never saw, with their truth

# The gate: cd4ml runs the new model and the last release on the holdout and measures ${a.metric.value} itself.
gate:
  task: ${scalar(a.task.value)}   ${from(a.task)}
  metric: ${scalar(a.metric.value)}   ${from(a.metric)}${a.metric.choices ? `; also reported: ${a.metric.choices.filter((m) => m !== a.metric.value).join(', ')}` : ''}
  policy: not-worse   # or better: the whole confidence interval must be an improvement
  margin: ${scalar(a.margin.value)}   ${from(a.margin)}; how much worse than the release a model may be, in ${a.metric.value}'s units
${a.foldDeviation ? `  foldOutlierMaxDeviation: ${a.foldDeviation.value}   ${from(a.foldDeviation)}\n` : ''}  # checks:           # the project's own checks, run after dvc repro; each prints {"passed": true, "detail": "..."}
  #   - {name: fairness, run: "python checks/fairness.py", timeout: 10m}

# Where trainings run. A person's EC2 instance, for example:
#   gpu-alice: {provider: ec2, region: eu-west-1, instanceId: i-0abc1234, hourlyPrice: 0.526}
locations:
  ${a.location.value}:
    provider: local

repro:
  timeout: 2h
${sections.length ? `# params.yaml sections recorded with every release: ${sections.join(', ')}\n` : ''}
# A GitLab release page per release (the token stays in the named environment variable):
# gitlab:
#   url: https://gitlab.example.com
#   project: group/${a.project.value}
#   tokenEnv: GITLAB_TOKEN
#   artifactsUrl: https://artifacts.example.com/releases
`;
  // A file init writes must load: the same parser the workers use.
  parseProjectConfig(text, 'generated cd4ml.yaml');
  return text;
}
