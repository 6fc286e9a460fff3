/**
 * Fallback concept list, used only when the backend's `/catalog` cannot be reached (the editor still works, with
 * less detail). The backend catalog (core/src/catalog) is authoritative; ids here must match its ids.
 */
import { CatalogConcept } from '../resources';

type Row = [id: string, label: string, group: string, unit: string, kind: string, description: string];

const ROWS: Row[] = [
  [
    'ttft',
    'Time to first token',
    'Latency',
    's',
    'latency',
    'Time from request arrival to the first generated token, including queueing and prefill.',
  ],
  [
    'inter_token_latency',
    'Inter-token latency',
    'Latency',
    's',
    'latency',
    'Time between successive streamed outputs of a request (one decode step).',
  ],
  [
    'tpot',
    'Time per output token',
    'Latency',
    's',
    'latency',
    'Per finished request: decode time divided by the number of output tokens after the first.',
  ],
  [
    'e2e_latency',
    'End-to-end latency',
    'Latency',
    's',
    'latency',
    'Time from request arrival to the last token of finished requests.',
  ],
  [
    'queue_time',
    'Queue time',
    'Latency',
    's',
    'latency',
    'Time finished requests spent waiting before they were first scheduled.',
  ],
  [
    'prefill_time',
    'Prefill time',
    'Latency',
    's',
    'latency',
    'Time spent processing the prompt before the first token.',
  ],
  [
    'decode_time',
    'Decode time',
    'Latency',
    's',
    'latency',
    'Time from the first to the last generated token of finished requests.',
  ],
  [
    'generation_tokens_rate',
    'Generated tokens/s',
    'Throughput',
    'tokens/s',
    'throughput',
    'Output tokens generated per second.',
  ],
  [
    'prompt_tokens_rate',
    'Prompt tokens/s',
    'Throughput',
    'tokens/s',
    'throughput',
    'Prompt (prefill) tokens processed per second, including prefix-cache hits.',
  ],
  ['request_rate', 'Requests/s', 'Throughput', 'reqps', 'throughput', 'Requests per second.'],
  [
    'finished_requests',
    'Finished requests by reason',
    'Throughput',
    'reqps',
    'throughput',
    'Finished requests per second, split by why they finished.',
  ],
  [
    'error_ratio',
    'Error ratio',
    'Errors',
    'percentunit',
    'ratio',
    'Share of requests that failed (events-weighted, 0..1).',
  ],
  ['queue_depth', 'Queue depth', 'Saturation', 'short', 'gauge', 'Requests waiting to be scheduled.'],
  ['running_requests', 'Running requests', 'Saturation', 'short', 'gauge', 'Requests in the running batch.'],
  [
    'kv_cache_usage',
    'KV-cache usage',
    'Saturation',
    'percentunit',
    'gauge',
    'Fraction (0..1) of the KV cache in use on the most loaded replica.',
  ],
  [
    'preemption_rate',
    'Preemptions/s',
    'Saturation',
    'ops',
    'throughput',
    'Requests preempted per second because the KV cache ran out.',
  ],
  [
    'prefix_cache_hit_rate',
    'Prefix-cache hit rate',
    'Caching',
    'percentunit',
    'ratio',
    'Share of prompt tokens served from the prefix cache (0..1).',
  ],
  [
    'spec_decode_acceptance_rate',
    'Speculative-decoding acceptance',
    'Caching',
    'percentunit',
    'ratio',
    'Share of drafted tokens accepted by the target model (0..1).',
  ],
  ['batch_size', 'Batch size', 'Saturation', 'short', 'gauge', 'Requests per running batch, averaged over replicas.'],
];

export const SLO_CAPABLE = new Set(['ttft', 'inter_token_latency', 'tpot', 'e2e_latency', 'queue_time', 'error_ratio']);

/** Statistics that make sense per concept kind (core's Stat doc). */
export const STATS_BY_KIND: Record<string, string[]> = {
  latency: ['p50', 'p90', 'p95', 'p99', 'avg'],
  throughput: ['rate'],
  ratio: ['ratio'],
  gauge: ['current', 'max', 'min', 'avg', 'growth'],
};

export const FALLBACK_CONCEPTS: CatalogConcept[] = ROWS.map(([id, label, group, unit, kind, description]) => ({
  id,
  label,
  group,
  unit,
  kind,
  description,
  stats: STATS_BY_KIND[kind] ?? [],
  slo: SLO_CAPABLE.has(id),
  backends: {},
}));
