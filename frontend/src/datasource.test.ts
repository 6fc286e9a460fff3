import { CoreApp, DataQueryRequest } from '@grafana/data';
import { lastValueFrom } from 'rxjs';

import { InfermonQuery } from './query/types';
import { VariableQuery } from './query/variable';
import { InfermonVariableSupport } from './variables';
import { CATALOG, MODELS, installBackend, installTemplateSrv, makeDataSource } from './test/grafana';

describe('DataSource', () => {
  beforeEach(() => {
    installTemplateSrv({
      model: ['llama-3-8b', 'qwen-2.5-7b'],
      single: 'llama-3-8b',
      namespace: 'prod',
      q: '99',
      objective: '0.995',
      all: '$__all',
      pods: ['vllm-0', 'vllm.1'],
    });
  });

  it('has a complete default query', () => {
    const ds = makeDataSource();
    const q = { refId: 'A', ...ds.getDefaultQuery(CoreApp.PanelEditor) } as InfermonQuery;
    expect(q).toEqual({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95' });
    expect(ds.filterQuery(q)).toBe(true);
  });

  it('interpolates every field; multi-value $model becomes a list', () => {
    const ds = makeDataSource();
    const q: InfermonQuery = {
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      stat: 'p$q',
      models: ['$model', 'extra'],
      namespaces: ['${namespace}'],
      filters: [
        { label: 'pod', op: '=~', value: '$pods' },
        { label: 'pod', op: '=', value: '$single' },
      ],
      groupBy: ['model', '[[namespace]]'],
      legend: '{{model}} $namespace',
      window: '5m',
    };
    expect(ds.applyTemplateVariables(q, {})).toEqual({
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      stat: 'p99',
      models: ['llama-3-8b', 'qwen-2.5-7b', 'extra'],
      namespaces: ['prod'],
      filters: [
        { label: 'pod', op: '=~', value: '(vllm-0|vllm\\.1)' },
        { label: 'pod', op: '=', value: 'llama-3-8b' },
      ],
      groupBy: ['model', 'prod'],
      legend: '{{model}} prod',
      window: '5m',
    });
  });

  it('scoped variables (repeated panels) win, "All" means no model filter, numbers come back as numbers', () => {
    const ds = makeDataSource();
    const q = {
      refId: 'A',
      queryType: 'slo',
      sli: 'ttft',
      threshold: 0.5,
      objective: '$objective',
      view: 'attainment',
      models: ['$model'],
      namespaces: ['$all'],
    } as unknown as InfermonQuery;
    const out = ds.applyTemplateVariables(q, { model: { text: 'x', value: 'mistral-7b' } });
    expect(out.models).toEqual(['mistral-7b']);
    expect(out.namespaces).toEqual([]);
    expect(out.objective).toBe(0.995);
    expect(out.threshold).toBe(0.5);
  });

  it('filterQuery drops hidden and incomplete queries', () => {
    const ds = makeDataSource();
    const ok: InfermonQuery[] = [
      { refId: 'A', queryType: 'metric', concept: 'ttft' },
      { refId: 'B', queryType: 'slo', sli: 'ttft', threshold: 0.5, objective: 0.99, view: 'attainment' },
      { refId: 'C', queryType: 'slo', sli: 'error_ratio', objective: 0.999, view: 'burnRate', burnWindow: '1h' },
      { refId: 'D', queryType: 'fleet' },
      { refId: 'E', queryType: 'promql', expr: 'up' },
      { refId: 'F', queryType: 'metric', concept: '$concept', models: ['$model'] },
    ];
    const bad: InfermonQuery[] = [
      { refId: 'A' },
      { refId: 'B', queryType: 'metric' },
      { refId: 'C', queryType: 'metric', concept: 'ttft', hide: true },
      { refId: 'D', queryType: 'metric', concept: 'ttft', stat: 'p950' },
      { refId: 'E', queryType: 'slo', sli: 'ttft', objective: 0.99, view: 'attainment' },
      { refId: 'F', queryType: 'slo', sli: 'ttft', threshold: 0.5, objective: 99, view: 'attainment' },
      { refId: 'G', queryType: 'promql', expr: '  ' },
      { refId: 'H', queryType: 'fleet', legend: '{{model}}' },
      { refId: 'I', queryType: 'metric', concept: 'ttft', groupBy: ['le'] },
      { refId: 'J', queryType: 'metric', concept: 'ttft', filters: [{ label: 'bad-label', op: '=', value: 'x' }] },
    ];
    expect(ok.filter((q) => ds.filterQuery(q)).map((q) => q.refId)).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
    expect(bad.filter((q) => ds.filterQuery(q))).toEqual([]);
  });

  it('reads /catalog once and parses it', async () => {
    const calls = installBackend({ 'GET catalog': () => ({ data: CATALOG }) });
    const ds = makeDataSource();
    const [a, b] = await Promise.all([ds.getCatalog(), ds.getCatalog()]);
    expect(a).toBe(b);
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('/api/datasources/uid/infermon/resources/catalog');
    const ttft = a.concepts.find((c) => c.id === 'ttft')!;
    expect(ttft.backends.tgi).toEqual({ support: 'approximate', note: 'TGI has no TTFT histogram: queue + prefill' });
    expect(ttft.backends.vllm.buckets).toContain(0.5);
  });

  it('posts the interpolated query to /translate and parses the answer', async () => {
    const calls = installBackend({
      'POST translate': (req) => ({
        data: {
          queries: [{ expr: `echo ${JSON.stringify(req.data)}`, legend: '{{model}}', unit: 's' }],
          notices: [{ severity: 'warning', text: 'TGI: approximation (queue + prefill)' }],
          approximate: true,
        },
      }),
    });
    const ds = makeDataSource();
    const t = await ds.translate({
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      models: ['$model'],
      datasource: { uid: 'infermon' },
    });
    expect(calls[0].method).toBe('POST');
    expect(calls[0].data).toEqual({
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      models: ['llama-3-8b', 'qwen-2.5-7b'],
    });
    expect(t.queries[0].expr).toContain('"models":["llama-3-8b","qwen-2.5-7b"]');
    expect(t.approximate).toBe(true);
    expect(t.notices).toEqual([{ severity: 'warning', text: 'TGI: approximation (queue + prefill)' }]);
  });

  it('variable support lists models and namespaces from /models, namespace-filtered and interpolated', async () => {
    const calls = installBackend({ 'GET models': () => ({ data: MODELS }) });
    const ds = makeDataSource();
    expect(await ds.metricFindQuery('models')).toEqual([
      { text: 'llama-3-8b', value: 'llama-3-8b' },
      { text: 'mistral-7b', value: 'mistral-7b' },
      { text: 'qwen-2.5-7b', value: 'qwen-2.5-7b' },
    ]);
    expect(
      (await ds.metricFindQuery({ refId: 'v', type: 'models', namespace: '$namespace' })).map((v) => v.text)
    ).toEqual(['llama-3-8b', 'qwen-2.5-7b']);
    expect(calls[1].params).toEqual({ namespace: 'prod' });
    expect((await ds.metricFindQuery({ refId: 'v', type: 'models', backend: 'tgi' })).map((v) => v.text)).toEqual([
      'mistral-7b',
    ]);
    expect((await ds.metricFindQuery('namespaces')).map((v) => v.text)).toEqual(['prod', 'staging']);

    // the dashboards' $model variable depends on a multi-value $namespace with "All"
    installTemplateSrv({ namespace: ['prod', 'staging'], all: '$__all', one: ['staging'] });
    const names = async (ns: string) =>
      (await ds.metricFindQuery({ refId: 'models', type: 'models', namespace: ns })).map((v) => v.text);
    expect(await names('$namespace')).toEqual(['llama-3-8b', 'mistral-7b', 'qwen-2.5-7b']);
    expect(await names('$all')).toEqual(['llama-3-8b', 'mistral-7b', 'qwen-2.5-7b']);
    expect(await names('$one')).toEqual(['mistral-7b']);
    expect(calls[calls.length - 1].params).toEqual({ namespace: 'staging' });

    // through Grafana's CustomVariableSupport entry point
    const support = ds.variables as InfermonVariableSupport;
    expect(support).toBeInstanceOf(InfermonVariableSupport);
    const request = { targets: [{ refId: 'v', type: 'namespaces' }] } as unknown as DataQueryRequest<VariableQuery>;
    const res = await lastValueFrom(support.query(request));
    expect(res.data.map((v: { text: string }) => v.text)).toEqual(['prod', 'staging']);
  });

  it('a failing /catalog is retried on the next call', async () => {
    let fail = true;
    installBackend({
      'GET catalog': () => (fail ? { status: 503, data: { message: 'engine down' } } : { data: CATALOG }),
    });
    const ds = makeDataSource();
    await expect(ds.getCatalog()).rejects.toMatchObject({ status: 503 });
    fail = false;
    expect((await ds.getCatalog()).concepts).toHaveLength(5);
  });
});
