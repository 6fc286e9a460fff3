/**
 * Screenshot harness: renders the real ConfigEditor and QueryEditor (real @grafana/ui components, real DataSource)
 * in a plain page, for docs/img/. Not part of the plugin. Grafana is not faked: only the two services a plugin
 * reaches through @grafana/runtime's setters are provided — the backend service answers the resource calls with
 * the backend's answers captured in answers.json (see shoot.sh), and the template service knows `$model`.
 */
import React, { useState } from 'react';
import { createRoot } from 'react-dom/client';
import { css } from '@emotion/css';
import { DataSourceInstanceSettings, DataSourceSettings, ScopedVars, ThemeContext, createTheme } from '@grafana/data';
import { BackendSrv, BackendSrvRequest, TemplateSrv, setBackendSrv, setTemplateSrv } from '@grafana/runtime';
import { GlobalStyles } from '@grafana/ui';
import { of } from 'rxjs';

import { ConfigEditor } from '../src/components/ConfigEditor';
import { QueryEditor } from '../src/components/QueryEditor';
import { DataSource } from '../src/datasource';
import { InfermonQuery } from '../src/query/types';
import { InfermonOptions, InfermonSecureOptions } from '../src/settings/types';
import answers from './answers.json';

type Answers = { catalog: unknown; models: unknown; translate: Record<string, unknown> };
const A = answers as Answers;

setBackendSrv({
  fetch: (req: BackendSrvRequest) => {
    const path = req.url.replace(/^.*\/resources\//, '');
    const body = path === 'translate' ? A.translate[String((req.data as InfermonQuery).queryType)] : (A as never)[path];
    return of({
      data: body,
      status: 200,
      ok: true,
      headers: new Headers(),
      redirected: false,
      statusText: 'OK',
      type: 'basic',
      url: req.url,
      config: req,
    });
  },
} as unknown as BackendSrv);

setTemplateSrv({
  getVariables: () => [{ name: 'model' }, { name: 'namespace' }],
  replace: (t?: string, _s?: ScopedVars) => t ?? '',
  containsTemplate: () => false,
  updateTimeRange: () => {},
} as unknown as TemplateSrv);

const ds = new DataSource({
  id: 1,
  uid: 'infermon',
  type: 'infermon-inference-datasource',
  name: 'Inference',
  access: 'proxy',
  jsonData: {},
  readOnly: false,
  meta: { id: 'infermon-inference-datasource', info: { version: '0.1.0' } },
} as unknown as DataSourceInstanceSettings<InfermonOptions>);

const QUERIES: Record<string, InfermonQuery> = {
  metric: {
    refId: 'A',
    queryType: 'metric',
    concept: 'ttft',
    stat: 'p95',
    models: ['llama-3-8b', 'mistral-7b'],
    groupBy: ['model'],
    legend: '{{model}} p95',
  },
  slo: {
    refId: 'A',
    queryType: 'slo',
    sli: 'ttft',
    threshold: 0.5,
    objective: 0.99,
    window: '30d',
    view: 'budgetRemaining',
    backend: 'vllm',
  },
};

function QueryPage({ initial }: { initial: InfermonQuery }) {
  const [query, setQuery] = useState(initial);
  return <QueryEditor datasource={ds} query={query} onChange={setQuery} onRunQuery={() => {}} />;
}

function ConfigPage() {
  const [options, setOptions] = useState({
    id: 1,
    uid: 'infermon',
    orgId: 1,
    name: 'Inference',
    type: 'infermon-inference-datasource',
    typeName: 'Inference',
    typeLogoUrl: '',
    access: 'proxy',
    url: 'http://mimir.monitoring:8080/prometheus',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    readOnly: false,
    withCredentials: false,
    jsonData: { httpMethod: 'POST', scrapeInterval: '15s', recordingRules: 'auto', httpHeaderName1: 'X-Scope-OrgID' },
    secureJsonFields: { bearerToken: true, httpHeaderValue1: true },
  } as unknown as DataSourceSettings<InfermonOptions, InfermonSecureOptions>);
  return <ConfigEditor options={options} onOptionsChange={setOptions} />;
}

const theme = createTheme({ colors: { mode: 'dark' } });
const page = window.location.hash.replace('#', '') || 'metric';
const root = createRoot(document.getElementById('root')!);
root.render(
  <ThemeContext.Provider value={theme}>
    <GlobalStyles />
    <div className={css({ padding: 16, background: theme.colors.background.primary, minHeight: '100vh' })}>
      {page === 'config' ? <ConfigPage /> : <QueryPage initial={QUERIES[page]} />}
    </div>
  </ThemeContext.Provider>
);
