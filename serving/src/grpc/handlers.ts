import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { BadRequest } from '../http/tensors.ts';
import type { ModelRegistry, ServedModel } from '../model/types.ts';
import { inputsFromWire, outputsToWire, type WireTensor } from './wire.ts';

// The GRPCInferenceService's RPCs over the model registry: health, metadata,
// inference. Every failure is answered with the protocol's status code
// (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE), never thrown out of a handler.

export interface GrpcHandlerOptions {
  serverName: string;
  serverVersion: string;
}

interface ModelRef { name?: string; version?: string }
interface InferRequest {
  model_name?: string;
  model_version?: string;
  id?: string;
  inputs?: WireTensor[];
  outputs?: Array<{ name: string }>;
  raw_input_contents?: Uint8Array[];
}

const CODE: Record<number, status> = {
  400: status.INVALID_ARGUMENT,
  404: status.NOT_FOUND,
  413: status.RESOURCE_EXHAUSTED,
  503: status.UNAVAILABLE,
};

/** The status code for an error: the HTTP-side codes of BadRequest and InferenceError, mapped. */
export function grpcCodeOf(err: unknown): status {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' && CODE[s] !== undefined ? CODE[s] : status.INTERNAL;
}

/** Runs a handler body; its value or its error (as a status) goes to the callback. */
function unary<Req, Res>(body: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => body(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback({ code: grpcCodeOf(err), details: err instanceof Error ? err.message : String(err) }),
      );
  };
}

/** proto3 sends "" for an unset string: no version means the current release. */
const given = (s: string | undefined): string | undefined => (s ? s : undefined);

function findModel(registry: ModelRegistry, ref: ModelRef): ServedModel {
  const name = ref.name ?? '';
  if (name !== registry.name) throw new BadRequest(`unknown model ${JSON.stringify(name)}: this server serves "${registry.name}"`, 404);
  const version = given(ref.version);
  if (version === undefined) {
    const current = registry.current();
    if (!current) throw new BadRequest(`${name} has no release serving yet`, 503);
    return current;
  }
  const m = registry.versions().find((v) => v.version === version);
  if (m) return m;
  const refused = registry.refused().filter((r) => r.version === version).at(-1);
  throw new BadRequest(refused ? `version "${version}" of ${name} was refused: ${refused.reason}` : `unknown version "${version}" of ${name}`, 404);
}

function metadata(registry: ModelRegistry, ref: ModelRef) {
  const m = findModel(registry, ref);
  return {
    name: m.name,
    versions: registry.versions().map((v) => v.version),
    platform: 'onnxruntime_onnx',
    inputs: m.manifest.model.inputs,
    outputs: m.manifest.model.outputs,
  };
}

async function infer(registry: ModelRegistry, req: InferRequest) {
  const model = findModel(registry, { name: req.model_name ?? '', version: req.model_version ?? '' });
  if (!registry.ready()) throw new BadRequest(`${registry.name} is not ready`, 503);
  if (!req.inputs || req.inputs.length === 0) throw new BadRequest('the request has no inputs; send the model\'s inputs in "inputs"');
  const inputs = inputsFromWire(req.inputs, req.raw_input_contents);
  const outputs = req.outputs?.length ? req.outputs.map((o) => o.name) : undefined;
  const result = await registry.infer({ version: model.version, inputs, ...(outputs ? { outputs } : {}) });
  return {
    model_name: result.model.name,
    model_version: result.model.version,
    id: req.id ?? '',
    // Raw outputs, as Triton answers: its client reads raw_output_contents.
    ...outputsToWire(result.outputs, true),
  };
}

export function grpcHandlers(registry: ModelRegistry, opts: GrpcHandlerOptions): UntypedServiceImplementation {
  return {
    ServerLive: unary(() => ({ live: true })),
    ServerReady: unary(() => ({ ready: registry.ready() })),
    ModelReady: unary((req: ModelRef) => {
      const m = findModel(registry, req);
      return { ready: registry.ready() && registry.versions().some((v) => v.version === m.version) };
    }),
    ServerMetadata: unary(() => ({ name: opts.serverName, version: opts.serverVersion, extensions: [] })),
    ModelMetadata: unary((req: ModelRef) => metadata(registry, req)),
    ModelInfer: unary((req: InferRequest) => infer(registry, req)),
  };
}
