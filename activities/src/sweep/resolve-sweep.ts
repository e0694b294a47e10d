import { ApplicationFailure } from '@temporalio/activity';
import {
  FailureType, SweepParamError, SweepRequest, durationMs, higherIsBetter, launchesInstances, sweepSettings,
  type SweepRequestInput, type SweepSetting,
} from '@cd4ml/contracts';
import { fetchCommit, parseRequest, projectConfigAt } from '../resolve/project-at-commit.ts';

export interface SweepLocation {
  name: string;
  /** USD per hour; null when cd4ml.yaml gives none (the budget cannot count it). */
  hourlyPrice: number | null;
  maxRuntimeMs: number;
  /** Each training gets an instance of its own, so trials may run side by side. */
  launched: boolean;
}

export interface SweepPlan {
  request: SweepRequest;
  commit: string;
  settings: SweepSetting[];
  locations: SweepLocation[];
  parallel: number;
  budget: number | null;
  /** A trial's expected machine time before any has ended (for the budget). */
  trialEstimateMs: number;
  metric: string;
  higherIsBetter: boolean;
  store: string;
}

/**
 * Everything a sweep can check before a machine starts: the request, the commit,
 * cd4ml.yaml there, the settings (from --grid or sweeps.<name>), the locations.
 * Bad input fails here, non-retryable, naming what was wrong.
 */
export async function resolveSweep(deps: { mirrorsDir: string; defaultStore: string }, input: SweepRequestInput): Promise<SweepPlan> {
  const request = parseRequest(SweepRequest, input, 'sweep request');
  const { mirror, commit } = await fetchCommit(deps.mirrorsDir, request);
  const config = await projectConfigAt(mirror, commit, request);
  const named = request.sweep === undefined ? undefined : config.sweeps?.[request.sweep];
  if (request.sweep !== undefined && !named) {
    const known = Object.keys(config.sweeps ?? {});
    throw invalid(`no sweep "${request.sweep}" in ${request.configPath}: ${known.length ? `it has ${known.map((k) => `"${k}"`).join(', ')}` : 'add one under sweeps:'}`);
  }
  const grid = request.grid ?? named?.grid;
  if (!grid) throw invalid('the sweep has no parameters: give --grid key=values, or --sweep <name> of a sweeps entry in cd4ml.yaml');
  let settings: SweepSetting[];
  try {
    settings = sweepSettings(grid, request.random ?? named?.random);
  } catch (err) {
    if (err instanceof SweepParamError) throw invalid(err.message);
    throw err;
  }
  const locations = (request.locations ?? named?.locations ?? [request.location]).map((name): SweepLocation => {
    const l = config.locations[name];
    if (!l) {
      throw ApplicationFailure.nonRetryable(
        `unknown location "${name}": ${request.configPath} declares ${Object.keys(config.locations).map((k) => `"${k}"`).join(', ')}`,
        FailureType.UnknownLocation,
      );
    }
    const launched = launchesInstances(l);
    return { name, hourlyPrice: l.provider === 'ec2' ? l.hourlyPrice ?? null : null, maxRuntimeMs: durationMs(l.maxRuntime), launched };
  });
  const budget = request.budget ?? named?.budget ?? null;
  if (budget !== null && locations.some((l) => l.hourlyPrice === null)) {
    throw invalid(`a budget needs every sweep location's hourlyPrice: set it on ${locations.filter((l) => l.hourlyPrice === null).map((l) => `locations.${l.name}`).join(', ')} in ${request.configPath}`);
  }
  return {
    request, commit, settings, locations, budget,
    parallel: request.parallel ?? named?.parallel ?? 1,
    trialEstimateMs: request.trialEstimate ? durationMs(request.trialEstimate) : Math.max(...locations.map((l) => l.maxRuntimeMs)),
    metric: config.gate.metric,
    higherIsBetter: higherIsBetter(config.gate),
    store: config.store ?? deps.defaultStore,
  };
}

const invalid = (message: string) => ApplicationFailure.nonRetryable(message, FailureType.ConfigInvalid);

