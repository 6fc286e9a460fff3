/**
 * Data-source settings: the contract between the ConfigEditor and the Rust backend (`gpx_infermon`).
 *
 * Key names are documented in frontend/README.md ("Settings contract"); the backend parses exactly these.
 * The engine URL is the data source's standard `url`; basic auth uses Grafana's standard top-level
 * `basicAuth` / `basicAuthUser` fields plus `secureJsonData.basicAuthPassword`; custom headers follow
 * Grafana's own `httpHeaderNameN` / `httpHeaderValueN` convention (N = 1, 2, …).
 */
import { DataSourceJsonData } from '@grafana/data';

export const HTTP_METHODS = ['POST', 'GET'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const BACKEND_OVERRIDES = ['auto', 'vllm', 'tgi', 'sglang', 'llamacpp'] as const;
export type BackendOverride = (typeof BACKEND_OVERRIDES)[number];

export const RECORDING_RULES_MODES = ['auto', 'on', 'off'] as const;
export type RecordingRulesMode = (typeof RECORDING_RULES_MODES)[number];

/** Defaults the backend applies when a key is absent; the editor shows them as placeholders. */
export const SETTINGS_DEFAULTS = {
  httpMethod: 'POST' as HttpMethod,
  timeoutSeconds: 60,
  tlsSkipVerify: false,
  tgiModelLabel: 'model',
  backendOverride: 'auto' as BackendOverride,
  recordingRules: 'auto' as RecordingRulesMode,
  scrapeInterval: '15s',
};

export interface InfermonOptions extends DataSourceJsonData {
  /** HTTP method for /api/v1/query and /api/v1/query_range. */
  httpMethod?: HttpMethod;
  /** Per-request timeout towards the engine, in seconds (positive integer). */
  timeoutSeconds?: number;
  /** Skip TLS certificate verification towards the engine. */
  tlsSkipVerify?: boolean;
  /** Target label that carries the model name on TGI series (TGI exposes none itself). */
  tgiModelLabel?: string;
  /** Force one backend instead of detecting which inference servers are present. */
  backendOverride?: BackendOverride;
  /** Use infermon's recording rules: auto (when detected), on (always), off (never). */
  recordingRules?: RecordingRulesMode;
  /** Prometheus scrape interval (a Prometheus duration such as "15s"); the floor for steps and rate windows. */
  scrapeInterval?: string;
  /** Custom header names, Grafana's convention: httpHeaderName1, httpHeaderName2, … (values are secure). */
  [httpHeaderName: `httpHeaderName${number}`]: string | undefined;
}

export interface InfermonSecureOptions {
  /** Password for basic auth (user in the standard `basicAuthUser` field). */
  basicAuthPassword?: string;
  /** Sent as `Authorization: Bearer <token>` when basic auth is off. */
  bearerToken?: string;
  /** Value of the custom header httpHeaderNameN. */
  [httpHeaderValue: `httpHeaderValue${number}`]: string | undefined;
}

export type AuthMethod = 'none' | 'basic' | 'bearer';

/** Scrape interval / window syntax accepted by the backend: Prometheus durations like 15s, 1m, 1m30s. */
export const DURATION_RE = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

export function isValidDuration(s: string): boolean {
  return DURATION_RE.test(s);
}
