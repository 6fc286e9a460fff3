/**
 * Template-variable interpolation over the whole query model.
 *
 * Every string field goes through Grafana's template service. List fields (models, groupBy) expand a
 * multi-value variable into several entries: `["$model"]` with $model = {a, b} becomes `["a", "b"]`.
 * "All" (Grafana's `$__all`, or a custom all value of `*` / `.*`) in models / namespaces means no filter.
 * Numeric fields accept a variable too (`"$objective"`) and are converted back to numbers.
 */
import { ScopedVars } from '@grafana/data';

import { InfermonQuery, LabelFilter } from './types';

/** The part of Grafana's TemplateSrv this module needs. */
export type Replace = (target: string, scopedVars?: ScopedVars, format?: string | Function) => string;

const SEP = '\u001f';
/** Values that mean "All" (Grafana's `$__all`, or a custom all value). */
export const ALL_VALUES = new Set(['$__all', '*', '.*']);

const joinMulti = (value: unknown) => (Array.isArray(value) ? value.map(String).join(SEP) : String(value ?? ''));

/** Interpolates one list, expanding multi-value variables into several entries and dropping empties. */
export function interpolateList(list: string[] | undefined, replace: Replace, scopedVars?: ScopedVars): string[] {
  const out: string[] = [];
  for (const entry of list ?? []) {
    for (const v of replace(entry, scopedVars, joinMulti).split(SEP)) {
      if (v !== '' && !out.includes(v)) {
        out.push(v);
      }
    }
  }
  return out;
}

/** Regex alternation of literal values, for a multi-value variable inside a =~ / !~ filter. */
function regexAlternation(value: unknown): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (Array.isArray(value)) {
    return value.length === 1 ? esc(String(value[0])) : `(${value.map((v) => esc(String(v))).join('|')})`;
  }
  return esc(String(value ?? ''));
}

function interpolateNumber(v: unknown, replace: Replace, scopedVars?: ScopedVars): number | undefined {
  if (typeof v === 'number') {
    return v;
  }
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(replace(v, scopedVars));
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

export function interpolateQuery(query: InfermonQuery, replace: Replace, scopedVars?: ScopedVars): InfermonQuery {
  const s = (v: string | undefined) => (v === undefined ? undefined : replace(v, scopedVars));
  const out: InfermonQuery = { ...query };

  for (const key of ['concept', 'stat', 'sli', 'slo', 'window', 'burnWindow', 'expr'] as const) {
    if (typeof query[key] === 'string') {
      out[key] = s(query[key]);
    }
  }
  if (typeof query.backend === 'string') {
    out.backend = s(query.backend) as InfermonQuery['backend'];
  }
  if (typeof query.view === 'string') {
    out.view = s(query.view) as InfermonQuery['view'];
  }
  // The legend keeps {{label}} placeholders for the backend; only $variables are replaced.
  if (typeof query.legend === 'string') {
    out.legend = s(query.legend);
  }
  for (const key of ['models', 'namespaces'] as const) {
    if (query[key] !== undefined) {
      const list = interpolateList(query[key], replace, scopedVars);
      out[key] = list.some((m) => ALL_VALUES.has(m)) ? [] : list;
    }
  }
  if (query.groupBy !== undefined) {
    out.groupBy = interpolateList(query.groupBy, replace, scopedVars);
  }
  if (query.filters !== undefined) {
    out.filters = query.filters.map((f): LabelFilter => ({
      ...f,
      label: replace(f.label, scopedVars),
      value:
        f.op === '=~' || f.op === '!~'
          ? replace(f.value, scopedVars, regexAlternation)
          : replace(f.value, scopedVars, (v: unknown) => (Array.isArray(v) ? String(v[0] ?? '') : String(v ?? ''))),
    }));
  }
  for (const key of ['threshold', 'objective'] as const) {
    if (query[key] !== undefined) {
      out[key] = interpolateNumber(query[key], replace, scopedVars);
    }
  }
  return out;
}
