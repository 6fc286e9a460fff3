/** Default queries: what a new panel and a query-type switch start from. */
import { SLO_CAPABLE } from './concepts';
import { FIELDS_BY_TYPE, InfermonQuery, ModelField, QueryType } from './types';

export const DEFAULT_QUERY: Partial<InfermonQuery> = {
  queryType: 'metric',
  concept: 'ttft',
  stat: 'p95',
};

/** What each query type starts with when the user switches to it. */
export const TYPE_DEFAULTS: Record<QueryType, Partial<InfermonQuery>> = {
  metric: { concept: 'ttft', stat: 'p95' },
  slo: { sli: 'ttft', objective: 0.99, window: '30d', view: 'attainment' },
  fleet: {},
  promql: { expr: '' },
};

/**
 * Switches a query to another type: keeps the fields both types share (models, namespaces, backend, filters,
 * legend where allowed), drops the rest (the backend rejects unknown fields), and carries the concept over between
 * metric and SLO queries.
 */
export function switchQueryType(q: InfermonQuery, to: QueryType): InfermonQuery {
  if (q.queryType === to) {
    return q;
  }
  const keep = new Set<ModelField>(FIELDS_BY_TYPE[to]);
  const next: InfermonQuery = { refId: q.refId, queryType: to };
  for (const [k, v] of Object.entries(q)) {
    if (k === 'queryType' || k === 'refId') {
      continue;
    }
    if (keep.has(k as ModelField) || !(Object.values(FIELDS_BY_TYPE).flat() as string[]).includes(k)) {
      // shared model fields, and Grafana's envelope fields (datasource, hide, …)
      (next as unknown as Record<string, unknown>)[k] = v;
    }
  }
  // window means different things (rate window vs SLO window): never carry it over
  if (q.queryType === 'metric' || q.queryType === 'slo') {
    delete next.window;
  }
  const defaults = { ...TYPE_DEFAULTS[to] };
  if (to === 'slo' && q.queryType === 'metric' && q.concept && SLO_CAPABLE.has(q.concept)) {
    defaults.sli = q.concept;
  }
  if (to === 'metric' && q.queryType === 'slo' && q.sli) {
    defaults.concept = q.sli;
  }
  return { ...next, ...defaults };
}
