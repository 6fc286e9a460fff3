/**
 * Completeness and validity of a query, as the editor and `filterQuery` see it.
 *
 * `problems()` lists what is missing or wrong, naming the field like the backend does (core/src/query), so the
 * editor can show it and `filterQuery` can keep incomplete queries away from the backend. Template variables are
 * resolved only at query time, so a `$var` counts as filled in.
 */
import {
  BACKENDS,
  ENVELOPE_FIELDS,
  FIELDS_BY_TYPE,
  FILTER_OPS,
  InfermonQuery,
  ModelField,
  QUERY_TYPES,
  SLO_VIEWS,
  STAT_RE,
} from './types';

type Spec = 'string' | 'number' | 'boolean' | 'strings' | 'filters' | readonly string[];

/**
 * JSON type of every model field. Typed as a record over all fields of InfermonQuery, so adding a field to the
 * TypeScript model without saying how it is checked does not compile.
 */
export const FIELD_SPECS: Record<ModelField, Spec> = {
  queryType: QUERY_TYPES,
  concept: 'string',
  stat: 'string',
  sli: 'string',
  slo: 'string',
  models: 'strings',
  namespaces: 'strings',
  backend: BACKENDS,
  filters: 'filters',
  groupBy: 'strings',
  legend: 'string',
  window: 'string',
  threshold: 'number',
  objective: 'number',
  view: SLO_VIEWS,
  burnWindow: 'string',
  interpolate: 'boolean',
  expr: 'string',
};

function typeProblem(field: string, spec: Spec, v: unknown): string | undefined {
  const isStr = (x: unknown) => typeof x === 'string';
  if (Array.isArray(spec)) {
    return spec.includes(v as string) ? undefined : `${field}: expected one of ${spec.join(', ')}`;
  }
  switch (spec) {
    case 'string':
      return isStr(v) ? undefined : `${field}: expected a string`;
    case 'number':
      // a template variable is resolved to a number at query time
      return typeof v === 'number' || isVar(v) ? undefined : `${field}: expected a number`;
    case 'boolean':
      return typeof v === 'boolean' ? undefined : `${field}: expected true or false`;
    case 'strings':
      return Array.isArray(v) && v.every(isStr) ? undefined : `${field}: expected a list of strings`;
    case 'filters':
      return Array.isArray(v) &&
        v.every((f) => typeof f === 'object' && f && isStr(f.label) && isStr(f.op) && isStr(f.value))
        ? undefined
        : `${field}: expected a list of {label, op, value}`;
  }
  return undefined;
}

const DURATION_RE = /^([0-9]+(ms|s|m|h|d|w|y))+$/;
const VAR_RE = /\$\w+|\$\{[^}]+\}|\[\[[^\]]+\]\]/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** An SLO name as the rules spec allows it (core's `is_slo_name`). */
const SLO_NAME_RE = /^[a-z0-9-]+$/;

const isVar = (v: unknown) => typeof v === 'string' && VAR_RE.test(v);
/** True for a valid SLO name, or a template variable resolved at query time. */
export const sloNameOk = (v: string) => SLO_NAME_RE.test(v) || isVar(v);
const filled = (v: unknown) => typeof v === 'string' && v.trim() !== '';
const durationOk = (v: unknown) => typeof v === 'string' && (DURATION_RE.test(v) || isVar(v));
const labelOk = (v: unknown) => typeof v === 'string' && (LABEL_RE.test(v) || isVar(v));

export function problems(q: InfermonQuery): string[] {
  if (!q.queryType || !(QUERY_TYPES as readonly string[]).includes(q.queryType)) {
    return [`queryType: expected one of ${QUERY_TYPES.join(', ')}`];
  }
  const out: string[] = [];
  const allowed = new Set<string>([...ENVELOPE_FIELDS, ...FIELDS_BY_TYPE[q.queryType]]);
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || k === 'queryType') {
      continue;
    }
    if (!allowed.has(k)) {
      out.push(`${k}: not a field of ${q.queryType} queries`);
    } else if (k in FIELD_SPECS) {
      const p = typeProblem(k, FIELD_SPECS[k as ModelField], v);
      if (p) {
        out.push(p);
      }
    }
  }
  if (out.length) {
    return out; // wrong types: the checks below would only repeat them
  }
  for (const [i, f] of (q.filters ?? []).entries()) {
    if (!labelOk(f.label)) {
      out.push(`filters[${i}].label: a Prometheus label name`);
    }
    if (!(FILTER_OPS as readonly string[]).includes(f.op)) {
      out.push(`filters[${i}].op: expected one of ${FILTER_OPS.join(' ')}`);
    }
  }
  for (const [i, l] of (q.groupBy ?? []).entries()) {
    if (!labelOk(l) || l === 'le') {
      out.push(`groupBy[${i}]: a Prometheus label name other than le`);
    }
  }
  switch (q.queryType) {
    case 'metric':
      if (!filled(q.concept)) {
        out.push('concept: choose a concept');
      }
      if (q.stat !== undefined && !(STAT_RE.test(q.stat) || isVar(q.stat))) {
        out.push('stat: expected p50, p90, p95, p99 (any pNN or pNN.N), avg, rate, ratio, current, max, min, growth');
      }
      if (q.window !== undefined && !durationOk(q.window)) {
        out.push('window: a duration such as 5m');
      }
      break;
    case 'slo': {
      if (!filled(q.sli)) {
        out.push('sli: choose the SLI concept');
      }
      if (q.slo !== undefined && !sloNameOk(q.slo)) {
        out.push('slo: the name of an SLO in the rules spec: lowercase letters, digits and dashes, e.g. ttft-500ms');
      }
      const obj = q.objective as unknown;
      if (!isVar(obj) && !(typeof obj === 'number' && obj > 0 && obj < 1)) {
        out.push('objective: a fraction in (0, 1), e.g. 0.99');
      }
      if (q.sli && q.sli !== 'error_ratio' && q.threshold === undefined) {
        out.push('threshold: required for a latency SLI (seconds)');
      }
      if (q.window !== undefined && !durationOk(q.window)) {
        out.push('window: a duration such as 30d');
      }
      if (!q.view || !(SLO_VIEWS as readonly string[]).includes(q.view)) {
        out.push(`view: expected one of ${SLO_VIEWS.join(', ')}`);
      }
      if (q.burnWindow !== undefined && !durationOk(q.burnWindow)) {
        out.push('burnWindow: a duration such as 1h');
      }
      break;
    }
    case 'promql':
      if (!filled(q.expr)) {
        out.push('expr: enter a PromQL expression');
      }
      break;
    case 'fleet':
      break;
  }
  return out;
}

export function isComplete(q: InfermonQuery): boolean {
  return problems(q).length === 0;
}
