/**
 * Shapes of the backend's CallResource answers (`/catalog`, `/models`, `/translate`) and tolerant parsers for them.
 *
 * The backend (plugin/) owns these shapes; frontend/README.md ("Resources") records the agreed form. The parsers
 * accept what they understand and ignore the rest, so an older or newer backend degrades the editor (fewer
 * hints) instead of breaking it.
 */

export type Support = 'exact' | 'approximate' | 'unsupported';

export interface BackendSupport {
  support: Support;
  note?: string;
  /** Histogram bucket upper bounds (seconds for latencies), ascending, without +Inf. */
  buckets?: number[];
}

export interface CatalogConcept {
  id: string;
  label: string;
  group: string;
  description: string;
  unit: string;
  kind: string;
  /** Statistics this concept accepts (e.g. p50, p95, avg, rate, current, max). */
  stats: string[];
  /** Whether an SLO can be defined on it. */
  slo: boolean;
  backends: Record<string, BackendSupport>;
}

export interface Catalog {
  concepts: CatalogConcept[];
}

export interface ModelInfo {
  model: string;
  backend: string;
  namespace?: string;
}

export interface TranslatedQuery {
  /** `value` for metric/SLO queries, the column id for fleet tables. */
  key?: string;
  expr: string;
  legend?: string;
  unit?: string;
  /** Evaluated as an instant query (tables). */
  instant?: boolean;
}

export interface Notice {
  severity: 'info' | 'warning' | 'error';
  text: string;
}

export interface Translation {
  queries: TranslatedQuery[];
  notices: Notice[];
  approximate: boolean;
}

type Json = unknown;

function isObj(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function str(v: Json): string | undefined {
  return typeof v === 'string' ? v : undefined;
}
function strList(v: Json): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
function numList(v: Json): number[] {
  if (!Array.isArray(v)) {
    return [];
  }
  return v
    .map((x) => (typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : NaN))
    .filter((x) => Number.isFinite(x));
}

const SUPPORTS: Support[] = ['exact', 'approximate', 'unsupported'];

export function parseCatalog(body: Json): Catalog {
  const list = isObj(body) && Array.isArray(body.concepts) ? body.concepts : [];
  const concepts: CatalogConcept[] = [];
  for (const c of list) {
    if (!isObj(c) || !str(c.id)) {
      continue;
    }
    const backends: Record<string, BackendSupport> = {};
    if (isObj(c.backends)) {
      for (const [name, b] of Object.entries(c.backends)) {
        if (!isObj(b)) {
          continue;
        }
        const support = SUPPORTS.find((s) => s === b.support) ?? 'exact';
        const buckets = numList(b.buckets);
        backends[name] = { support, note: str(b.note), ...(buckets.length ? { buckets } : {}) };
      }
    }
    const stats = strList(c.stats ?? c.statistics);
    concepts.push({
      id: c.id as string,
      label: str(c.label) ?? (c.id as string),
      group: str(c.group) ?? 'Other',
      description: str(c.description) ?? '',
      unit: str(c.unit) ?? '',
      kind: str(c.kind) ?? '',
      stats,
      slo: typeof c.slo === 'boolean' ? c.slo : typeof c.sloCapable === 'boolean' ? c.sloCapable : false,
      backends,
    });
  }
  return { concepts };
}

export function parseModels(body: Json): ModelInfo[] {
  const list = isObj(body) && Array.isArray(body.models) ? body.models : Array.isArray(body) ? body : [];
  const out: ModelInfo[] = [];
  for (const m of list) {
    if (typeof m === 'string') {
      out.push({ model: m, backend: '' });
    } else if (isObj(m) && str(m.model)) {
      out.push({ model: m.model as string, backend: str(m.backend) ?? '', namespace: str(m.namespace) });
    }
  }
  return out;
}

export function parseTranslation(body: Json): Translation {
  const queries: TranslatedQuery[] = [];
  const notices: Notice[] = [];
  if (isObj(body)) {
    // the plugin answers `queries`; core's Translation (CLI --explain) calls the same list `targets`
    const qs = Array.isArray(body.queries)
      ? body.queries
      : Array.isArray(body.targets)
        ? body.targets
        : str(body.expr)
          ? [body]
          : [];
    for (const q of qs) {
      if (isObj(q) && str(q.expr)) {
        queries.push({
          key: str(q.key),
          expr: q.expr as string,
          legend: str(q.legend),
          unit: str(q.unit),
          instant: typeof q.instant === 'boolean' ? q.instant : undefined,
        });
      }
    }
    for (const n of Array.isArray(body.notices) ? body.notices : []) {
      if (typeof n === 'string') {
        notices.push({ severity: 'info', text: n });
      } else if (isObj(n) && str(n.text)) {
        const sev = n.severity === 'warning' || n.severity === 'error' ? n.severity : 'info';
        notices.push({ severity: sev, text: n.text as string });
      }
    }
    if (str(body.error)) {
      notices.push({ severity: 'error', text: body.error as string });
    }
  }
  const approximate = (isObj(body) && body.approximate === true) || notices.some((n) => /approximat/i.test(n.text));
  return { queries, notices, approximate };
}

/** Message of a failed resource call (Grafana's FetchError carries the backend's body in `data`). */
export function errorMessage(err: unknown): string {
  if (isObj(err)) {
    const data = err.data;
    if (isObj(data)) {
      const m = str(data.error) ?? str(data.message);
      if (m) {
        return m;
      }
    }
    if (str(err.message)) {
      return err.message as string;
    }
    if (str(err.statusText)) {
      return err.statusText as string;
    }
  }
  return String(err);
}
