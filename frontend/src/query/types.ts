/**
 * The infermon query model, as the frontend speaks it.
 *
 * Mirrors the Rust model in core/src/query (serde: `queryType` tag, camelCase fields, unknown fields rejected),
 * documented in docs/query-model.md. The JSON the editor produces is exactly what dashboards store and what the
 * backend parses; src/query/contract.test.ts checks these types against the shared golden examples in
 * docs/query-model/examples/*.json.
 */
import { DataQuery } from '@grafana/schema';

export const QUERY_TYPES = ['metric', 'slo', 'fleet', 'promql'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export const BACKENDS = ['auto', 'vllm', 'tgi', 'sglang', 'llamacpp'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export const FILTER_OPS = ['=', '!=', '=~', '!~'] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

/** A free label matcher; `=~` / `!~` take the value as a regex the user wrote. */
export interface LabelFilter {
  label: string;
  op: FilterOp;
  value: string;
}

export const SLO_VIEWS = ['attainment', 'budgetRemaining', 'burnRate'] as const;
export type SloView = (typeof SLO_VIEWS)[number];

/** Statistics offered by name; any quantile `pNN` / `pNN.N` (0 < NN < 100) is accepted too. */
export const NAMED_STATS = ['avg', 'rate', 'ratio', 'current', 'max', 'min', 'growth'] as const;
export const STAT_RE = /^(avg|mean|rate|ratio|current|max|min|growth|p(?:[1-9][0-9]?)(?:\.[0-9]+)?)$/;

/** Scope fields shared by metric, slo and fleet queries. */
interface Scope {
  /** Model names (exact). Empty / absent: all models. Entries may be template variables ($model). */
  models?: string[];
  /** Kubernetes namespaces (exact). Empty / absent: all. */
  namespaces?: string[];
  /** Which servers: auto (default) or one backend id. */
  backend?: BackendChoice;
  /** Extra label matchers applied to every raw series. */
  filters?: LabelFilter[];
}

export interface MetricQuery extends DataQuery, Scope {
  queryType: 'metric';
  concept: string;
  /** Default: p95 for latencies, rate for throughputs, ratio for ratios, current for gauges. */
  stat?: string;
  /** Output labels; default ["model"]; [] for one fleet-wide series. */
  groupBy?: string[];
  /** Legend template ({{model}}); default: the group-by labels. */
  legend?: string;
  /** Rate window override (a Prometheus duration); default: the data source's rate interval. */
  window?: string;
}

export interface SloQuery extends DataQuery, Scope {
  queryType: 'slo';
  /**
   * The SLO's name in infermon's rules spec (lowercase letters, digits, dashes), e.g. "ttft-500ms". With the recording
   * rules loaded, the backend reads that SLO's recorded error ratios instead of raw histograms where they answer
   * exactly (grouping by namespace and model, a recorded window, no filters); the other fields must describe the same
   * SLO as the spec.
   */
  slo?: string;
  /** The SLI concept: a latency (with `threshold`) or error_ratio. */
  sli: string;
  /** Latency threshold in seconds; must be a bucket boundary unless `interpolate` is set. */
  threshold?: number;
  /** Target share of good events, in (0, 1). */
  objective: number;
  /** SLO window; default 30d. */
  window?: string;
  view: SloView;
  /** Window of the burnRate view; default 1h. */
  burnWindow?: string;
  /** Allow a threshold between bucket boundaries (result approximate). */
  interpolate?: boolean;
  groupBy?: string[];
  legend?: string;
}

export interface FleetQuery extends DataQuery, Scope {
  queryType: 'fleet';
}

export interface PromqlQuery extends DataQuery {
  queryType: 'promql';
  expr: string;
  legend?: string;
}

/** A complete query of one of the four types. */
export type ValidQuery = MetricQuery | SloQuery | FleetQuery | PromqlQuery;

/**
 * What Grafana hands the editor and the data source: any query, possibly incomplete (a new panel starts with only
 * a refId). `filterQuery` drops the incomplete ones before they reach the backend.
 */
export interface InfermonQuery extends DataQuery {
  queryType?: QueryType;
  concept?: string;
  stat?: string;
  sli?: string;
  slo?: string;
  models?: string[];
  namespaces?: string[];
  backend?: BackendChoice;
  filters?: LabelFilter[];
  groupBy?: string[];
  legend?: string;
  window?: string;
  threshold?: number;
  objective?: number;
  view?: SloView;
  burnWindow?: string;
  interpolate?: boolean;
  expr?: string;
}

export type ModelField = Exclude<keyof InfermonQuery, Exclude<keyof DataQuery, 'queryType'>>;

const SCOPE: ModelField[] = ['models', 'namespaces', 'backend', 'filters'];

/** The model fields each query type accepts (the backend rejects any other field). */
export const FIELDS_BY_TYPE: Record<QueryType, ModelField[]> = {
  metric: ['concept', 'stat', ...SCOPE, 'groupBy', 'legend', 'window'],
  slo: [
    'slo',
    'sli',
    'threshold',
    'objective',
    'window',
    'view',
    'burnWindow',
    'interpolate',
    ...SCOPE,
    'groupBy',
    'legend',
  ],
  fleet: [...SCOPE],
  promql: ['expr', 'legend'],
};

/** Fields Grafana adds to every query object; not part of the model (core's GRAFANA_ENVELOPE_FIELDS). */
export const ENVELOPE_FIELDS = [
  'refId',
  'datasource',
  'datasourceId',
  'hide',
  'intervalMs',
  'maxDataPoints',
  'key',
  'format',
  'exemplar',
  'queryType',
];
