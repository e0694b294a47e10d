import { availableParallelism } from 'node:os';
import path from 'node:path';
import { isS3Url, openStore, type ReleaseStore } from '@cd4ml/stores';
import type { LoadOptions } from './load.ts';
import { consoleLogger, type Logger } from './logger.ts';

// A registry's options, and the settings they come to (store opened, worker and thread counts).

export interface ModelRegistryOptions {
  /**
   * The release store: a folder (relative to the working directory is fine),
   * s3://bucket/prefix, or an opened store. Layout: <store>/<project>/<tag>/release.json,
   * <store>/<project>/latest.json, <store>/<project>/serving.json.
   */
  store: string | ReleaseStore;
  /** Where models downloaded from S3 are kept. Default: <tmpdir>/cd4ml-store-cache. */
  cacheDir?: string;
  project: string;
  /**
   * Serve exactly this release. Without it: follow serving.json (live release and rollouts),
   * or latest.json's tag for a project without one.
   */
  tag?: string;
  /** Worker threads (one onnxruntime session each) per loaded release; default min(2, cpus - 1), at least 1. */
  workers?: number;
  /** Most rows stacked into one session.run; default 1024 (so 64-row requests batch too). */
  maxBatchSize?: number;
  /** Longest a request waits for others to batch with; default 2 ms. */
  maxBatchDelayMs?: number;
  /** How often serving.json (or latest.json) is read when following releases (one HEAD and one GET on S3); default 1000 ms. */
  pollIntervalMs?: number;
  logger?: Logger;
}

/** Opens the store and sizes the pools: what loading a release needs. */
export function loadOptionsOf(opts: ModelRegistryOptions): LoadOptions {
  const { store, cacheDir } = opts;
  const opened = typeof store !== 'string'
    ? store
    : openStore(isS3Url(store) ? store : path.resolve(store), cacheDir !== undefined ? { cacheDir } : {});
  const cpus = availableParallelism();
  // The event loop (HTTP, JSON, batching) needs a core of its own; inference threads get the rest.
  const workers = Math.max(1, Math.floor(opts.workers ?? Math.min(2, cpus - 1)));
  return {
    store: opened, project: opts.project, workers, threads: Math.max(1, Math.floor(cpus / workers)), logger: opts.logger ?? consoleLogger,
    maxBatchSize: Math.max(1, opts.maxBatchSize ?? 1024), maxBatchDelayMs: Math.max(0, opts.maxBatchDelayMs ?? 2),
  };
}
