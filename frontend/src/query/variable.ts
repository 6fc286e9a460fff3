/**
 * Template-variable queries: `$model` and `$namespace` lists from the backend's `/models` resource.
 *
 * Variable query JSON (stored in dashboards): `{"refId": "...", "type": "models" | "namespaces",
 * "namespace": "$namespace"?, "backend": "vllm"?}`. The legacy string forms `models`, `namespaces` and
 * `models(<namespace>)` are accepted too.
 */
import { DataQuery } from '@grafana/schema';

export interface VariableQuery extends DataQuery {
  type: 'models' | 'namespaces';
  namespace?: string;
  backend?: string;
}

export function parseVariableQuery(q: unknown): VariableQuery {
  if (typeof q === 'string') {
    const s = q.trim();
    if (/^namespaces(\(\))?$/.test(s)) {
      return { refId: 'variable', type: 'namespaces' };
    }
    const m = /^models(?:\((.*)\))?$/.exec(s);
    return { refId: 'variable', type: 'models', namespace: m?.[1]?.trim() || undefined };
  }
  const o = (q ?? {}) as Record<string, unknown>;
  const kind = o.type ?? o.queryType;
  return {
    refId: typeof o.refId === 'string' ? o.refId : 'variable',
    type: kind === 'namespaces' ? 'namespaces' : 'models',
    namespace: typeof o.namespace === 'string' && o.namespace !== '' ? o.namespace : undefined,
    backend: typeof o.backend === 'string' && o.backend !== '' ? o.backend : undefined,
  };
}
