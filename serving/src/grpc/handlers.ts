import { status, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { BadRequest } from '../http/tensors.ts';
import type { ServingMetrics } from '../http/metrics.ts';
import { prepareTensors, statusOf, type InferenceService, type Prepared } from '../model/infer.ts';
import type { ServedModel } from '../model/types.ts';
import { inputsFromWire, outputsToWire, type WireTensor } from './wire.ts';

// The GRPCInferenceService's RPCs over the same InferenceService as REST
// (model lookup, rollout routing, inference counters): health, metadata,
// inference. Every failure is answered with the protocol's status code
// (INVALID_ARGUMENT, NOT_FOUND, UNAVAILABLE), never thrown out of a handler;
// each call is timed in cd4ml_request_duration_seconds with protocol="grpc".

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

/** The status code for an error: the HTTP-side codes (BadRequest, InferenceError, the ONNX side's InputError), mapped. */
export function grpcCodeOf(err: unknown): status {
  const s = statusOf(err) ?? (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' && CODE[s] !== undefined ? CODE[s] : status.INTERNAL;
}

/** Runs a handler body; its value or its error (as a status) goes to the callback, and the call is timed. */
function unary<Req, Res>(rpc: string, metrics: ServingMetrics | undefined, body: (req: Req) => Res | Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    const started = performance.now();
    const done = (code: status): void => metrics?.request(rpc, 'POST', status[code] ?? String(code), (performance.now() - started) / 1000, 'grpc');
    Promise.resolve()
      .then(() => body(call.request))
      .then(
        (res) => {
          done(status.OK);
          callback(null, res);
        },
        (err: unknown) => {
          const code = grpcCodeOf(err);
          done(code);
          callback({ code, details: err instanceof Error ? err.message : String(err) });
        },
      );
  };
}

/** proto3 sends "" for an unset string: no version means the current release (or the rollout's pick). */
const given = (s: string | undefined): string | undefined => (s ? s : undefined);

function metadata(service: InferenceService, ref: ModelRef) {
  const m = service.metadata(ref.name ?? '', given(ref.version));
  return { name: m.name, versions: m.versions, platform: m.platform, inputs: m.inputs, outputs: m.outputs };
}

/** A ModelInferRequest decoded and checked against the release it will run on. */
function prepareGrpc(req: InferRequest, model: ServedModel): Prepared {
  if (!req.inputs || req.inputs.length === 0) throw new BadRequest('the request has no inputs; send the model\'s inputs in "inputs"');
  const inputs = inputsFromWire(req.inputs, req.raw_input_contents);
  const outputs = req.outputs?.length ? req.outputs.map((o) => o.name) : undefined;
  return { ...prepareTensors(inputs, outputs, model), id: given(req.id) };
}

async function infer(service: InferenceService, req: InferRequest) {
  const { result } = await service.run(req.model_name ?? '', given(req.model_version), req, prepareGrpc);
  return {
    model_name: result.model.name,
    model_version: result.model.version,
    id: req.id ?? '',
    // Raw outputs, as Triton answers: its client reads raw_output_contents.
    ...outputsToWire(result.outputs, true),
  };
}

export function grpcHandlers(service: InferenceService, opts: GrpcHandlerOptions, metrics?: ServingMetrics): UntypedServiceImplementation {
  return {
    ServerLive: unary('ServerLive', metrics, () => ({ live: true })),
    ServerReady: unary('ServerReady', metrics, () => ({ ready: service.ready() })),
    ModelReady: unary('ModelReady', metrics, (req: ModelRef) => ({ ready: service.modelReady(req.name ?? '', given(req.version)) })),
    ServerMetadata: unary('ServerMetadata', metrics, () => ({ name: opts.serverName, version: opts.serverVersion, extensions: [] })),
    ModelMetadata: unary('ModelMetadata', metrics, (req: ModelRef) => metadata(service, req)),
    ModelInfer: unary('ModelInfer', metrics, (req: InferRequest) => infer(service, req)),
  };
}
