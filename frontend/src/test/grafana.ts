/**
 * Test support: the two Grafana services a plugin reaches through @grafana/runtime's setters — the backend
 * service (HTTP to /api/datasources/uid/<uid>/resources/*) and the template service — replaced at that boundary
 * only. Everything above (DataSourceWithBackend, our data source, the editors) is the real code.
 */
import { DataSourceInstanceSettings, ScopedVars, TypedVariableModel } from '@grafana/data';
import {
  BackendSrv,
  BackendSrvRequest,
  FetchResponse,
  TemplateSrv,
  setBackendSrv,
  setTemplateSrv,
} from '@grafana/runtime';
import { Observable, of, throwError } from 'rxjs';

import { DataSource } from '../datasource';
import { InfermonOptions } from '../settings/types';

export interface Call {
  method: string;
  url: string;
  params?: unknown;
  data?: unknown;
}

export type Handler = (req: BackendSrvRequest) => { status?: number; data: unknown };

/** Installs a backend service that answers resource calls from `routes` ("GET catalog" → handler) and records them. */
export function installBackend(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  const fetch = (req: BackendSrvRequest): Observable<FetchResponse> => {
    const path = req.url.replace(/^.*\/resources\//, '');
    const method = req.method ?? 'GET';
    calls.push({ method, url: req.url, params: req.params, data: req.data });
    const handler = routes[`${method} ${path}`];
    if (!handler) {
      return throwError(() => ({ status: 404, data: { message: `no route ${method} ${path}` } }));
    }
    const { status = 200, data } = handler(req);
    if (status >= 400) {
      return throwError(() => ({ status, data, statusText: 'error' }));
    }
    return of({
      data,
      status,
      ok: true,
      headers: new Headers(),
      redirected: false,
      statusText: 'OK',
      type: 'basic',
      url: req.url,
      config: req,
    } as FetchResponse);
  };
  setBackendSrv({ fetch } as unknown as BackendSrv);
  return calls;
}

/**
 * A template service with Grafana's interpolation rules for what plugins use: `$name`, `${name}`, `[[name]]`;
 * scoped variables win over dashboard variables; a format function receives the raw value (string or string[]);
 * without a format a multi-value variable renders as a glob `{a,b}`.
 */
export function installTemplateSrv(vars: Record<string, string | string[]>): void {
  const re = /\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]/g;
  const srv: TemplateSrv = {
    getVariables: () => Object.keys(vars).map((name) => ({ name, type: 'custom' }) as unknown as TypedVariableModel),
    containsTemplate: (t?: string) => !!t && new RegExp(re.source).test(t),
    updateTimeRange: () => {},
    replace: (target?: string, scopedVars?: ScopedVars, format?: string | Function) => {
      if (!target) {
        return target ?? '';
      }
      return target.replace(re, (match, a, b, c) => {
        const name = a ?? b ?? c;
        const scoped = scopedVars?.[name]?.value;
        const value = scoped !== undefined ? scoped : vars[name];
        if (value === undefined) {
          return match;
        }
        if (typeof format === 'function') {
          return format(value);
        }
        return Array.isArray(value) ? (value.length > 1 ? `{${value.join(',')}}` : String(value[0])) : String(value);
      });
    },
  };
  setTemplateSrv(srv);
}

export function makeDataSource(): DataSource {
  const settings = {
    id: 1,
    uid: 'infermon',
    type: 'infermon-inference-datasource',
    name: 'Inference',
    access: 'proxy',
    jsonData: {},
    readOnly: false,
    meta: { id: 'infermon-inference-datasource', info: { version: '0.1.0' } },
  } as unknown as DataSourceInstanceSettings<InfermonOptions>;
  return new DataSource(settings);
}

/** A /catalog answer in the documented shape, with real vLLM/TGI facts (metrics-catalog.md §1.3, §8). */
export const CATALOG = {
  concepts: [
    {
      id: 'ttft',
      label: 'Time to first token',
      group: 'Latency',
      unit: 's',
      kind: 'latency',
      description: 'Time from request arrival to the first generated token, including queueing and prefill.',
      stats: ['p50', 'p90', 'p95', 'p99', 'avg'],
      slo: true,
      backends: {
        vllm: {
          support: 'exact',
          buckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0],
        },
        sglang: { support: 'exact', buckets: [0.1, 0.25, 0.5, 1.0, 2.0, 5.0] },
        tgi: { support: 'approximate', note: 'TGI has no TTFT histogram: queue + prefill' },
        llamacpp: { support: 'unsupported', note: 'llama.cpp exposes means only' },
      },
    },
    {
      id: 'inter_token_latency',
      label: 'Inter-token latency',
      group: 'Latency',
      unit: 's',
      kind: 'latency',
      description: 'Time between successive streamed outputs of a request (one decode step).',
      stats: ['p50', 'p90', 'p95', 'p99', 'avg'],
      slo: true,
      backends: { vllm: { support: 'exact', buckets: [0.01, 0.025, 0.05, 0.1] } },
    },
    {
      id: 'generation_tokens_rate',
      label: 'Generated tokens/s',
      group: 'Throughput',
      unit: 'tokens/s',
      kind: 'throughput',
      description: 'Output tokens generated per second.',
      stats: ['rate'],
      slo: false,
      backends: { vllm: { support: 'exact' } },
    },
    {
      id: 'kv_cache_usage',
      label: 'KV-cache usage',
      group: 'Saturation',
      unit: 'percentunit',
      kind: 'gauge',
      description: 'Fraction (0..1) of the KV cache in use on the most loaded replica.',
      stats: ['current', 'max', 'min', 'avg', 'growth'],
      slo: false,
      backends: { vllm: { support: 'exact' } },
    },
    {
      id: 'error_ratio',
      label: 'Error ratio',
      group: 'Errors',
      unit: 'percentunit',
      kind: 'ratio',
      description: 'Share of requests that failed (events-weighted, 0..1).',
      stats: ['ratio'],
      slo: true,
      backends: { vllm: { support: 'exact' } },
    },
  ],
};

export const MODELS = {
  models: [
    { model: 'llama-3-8b', backend: 'vllm', namespace: 'prod' },
    { model: 'qwen-2.5-7b', backend: 'sglang', namespace: 'prod' },
    { model: 'mistral-7b', backend: 'tgi', namespace: 'staging' },
  ],
};
