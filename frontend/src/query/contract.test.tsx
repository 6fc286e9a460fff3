/**
 * Contract test: the TypeScript query model agrees with the Rust model (core/src/query).
 *
 * The shared golden examples in docs/query-model/examples/*.json are parsed and round-tripped by the Rust test
 * core/tests/query_model_examples.rs; here each one must
 *  1. type-check as a `ValidQuery` object literal with the TypeScript compiler (excess-property and type checks),
 *  2. pass the editor's own validation (`problems`, which `filterQuery` uses),
 *  3. be reachable from the editor's defaults (switch to its type, set its fields) and survive type switches,
 *  4. round-trip through the real QueryEditor: loading it changes nothing and the preview posts exactly it.
 */
import fs from 'fs';
import path from 'path';
import React from 'react';
import ts from 'typescript';
import { render, waitFor } from '@testing-library/react';

import { FALLBACK_CONCEPTS, SLO_CAPABLE } from './concepts';
import { DEFAULT_QUERY, switchQueryType } from './defaults';
import { InfermonQuery, QUERY_TYPES } from './types';
import { problems } from './validate';
import { QueryEditor } from '../components/QueryEditor';
import { parseVariableQuery } from './variable';
import { CATALOG, MODELS, installBackend, installTemplateSrv, makeDataSource } from '../test/grafana';

const EXAMPLES_DIR = path.resolve(__dirname, '../../../docs/query-model/examples');

const examples: Array<[string, Omit<InfermonQuery, 'refId'>]> = fs
  .readdirSync(EXAMPLES_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => [f, JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, f), 'utf8'))]);

describe('query model contract (docs/query-model/examples)', () => {
  it('has examples of every query type', () => {
    expect(examples.length).toBeGreaterThanOrEqual(8);
    expect(new Set(examples.map(([, q]) => q.queryType))).toEqual(new Set(QUERY_TYPES));
  });

  it('every example type-checks as a ValidQuery, and a wrong example does not', () => {
    const typesPath = path.resolve(__dirname, 'types.ts');
    const diagnose = (objects: Array<[string, unknown]>) => {
      const file = path.resolve(__dirname, '__contract_check__.ts');
      const source = [
        `import type { ValidQuery } from './types';`,
        ...objects.map(
          ([name, q], i) =>
            `// ${name}\nexport const q${i}: ValidQuery = ${JSON.stringify({ refId: 'A', ...(q as object) })};`
        ),
      ].join('\n');
      const options: ts.CompilerOptions = {
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        target: ts.ScriptTarget.ES2020,
        module: ts.ModuleKind.CommonJS,
        moduleResolution: ts.ModuleResolutionKind.Node10,
        esModuleInterop: true,
        types: [],
      };
      const host = ts.createCompilerHost(options);
      const readFile = host.readFile;
      host.readFile = (f) => (path.resolve(f) === file ? source : readFile(f));
      const exists = host.fileExists;
      host.fileExists = (f) => path.resolve(f) === file || exists(f);
      const program = ts.createProgram([file, typesPath], options, host);
      return ts
        .getPreEmitDiagnostics(program)
        .filter((d) => d.file && path.resolve(d.file.fileName) === file)
        .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    };
    expect(diagnose(examples)).toEqual([]);
    // the check has teeth: an unknown field, a wrong type and a field of another query type are all caught
    expect(diagnose([['bad-field', { queryType: 'metric', concept: 'ttft', stats: 'p95' }]])).toHaveLength(1);
    expect(
      diagnose([['bad-type', { queryType: 'slo', sli: 'ttft', objective: '0.99', view: 'attainment' }]])
    ).toHaveLength(1);
    expect(diagnose([['bad-view', { queryType: 'slo', sli: 'ttft', objective: 0.99, view: 'budget' }]])).toHaveLength(
      1
    );
    expect(diagnose([['fleet-legend', { queryType: 'fleet', legend: 'x' }]])).toHaveLength(1);
  });

  it('the built-in concept list (used when /catalog is unreachable) has exactly the documented concepts and SLIs', () => {
    const doc = fs.readFileSync(path.resolve(EXAMPLES_DIR, '../../query-model.md'), 'utf8');
    const table = doc.slice(doc.indexOf('### Concepts'), doc.indexOf('## `queryType: "slo"`'));
    const documented = Array.from(table.matchAll(/^\| `([a-z_0-9]+)` \|/gm)).map((m) => m[1]);
    expect(documented.length).toBeGreaterThan(10);
    expect(FALLBACK_CONCEPTS.map((c) => c.id).sort()).toEqual([...documented].sort());
    const sliLine = doc.split('\n').find((l) => l.startsWith('| `sli` |'))!;
    const slis = Array.from(sliLine.matchAll(/`([a-z_0-9]+)`/g))
      .map((m) => m[1])
      .filter((id) => id !== 'sli');
    expect([...SLO_CAPABLE].sort()).toEqual(slis.sort());
  });

  it('every Inference query of the provisioned dashboards is valid for the editor, and so are their variables', () => {
    const dir = path.resolve(EXAMPLES_DIR, '../../../provisioning/dashboards');
    if (!fs.existsSync(dir)) {
      return; // dashboards not generated in this checkout
    }
    let targets = 0;
    let variables = 0;
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json'))) {
      const board = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      const panels = (board.panels ?? []).flatMap((p: { panels?: unknown[] }) => [p, ...(p.panels ?? [])]);
      for (const p of panels) {
        for (const t of p.targets ?? []) {
          const ds = t.datasource ?? p.datasource;
          if (ds?.type === 'infermon-inference-datasource') {
            targets++;
            expect([`${f} ${p.title} ${t.refId}`, problems(t)]).toEqual([`${f} ${p.title} ${t.refId}`, []]);
          }
        }
      }
      for (const v of board.templating?.list ?? []) {
        if (v.datasource?.type === 'infermon-inference-datasource') {
          variables++;
          const q = parseVariableQuery(v.query);
          expect(q.type).toBe(v.query.type);
          expect(q.namespace).toBe(v.query.namespace);
        }
      }
    }
    if (fs.readdirSync(dir).some((n) => n.startsWith('infermon-') && !n.includes('-prom-') && n.endsWith('.json'))) {
      expect(targets).toBeGreaterThan(0);
      expect(variables).toBeGreaterThan(0);
    }
  });

  it.each(examples)('%s passes the editor validation', (_name, q) => {
    expect(problems({ refId: 'A', ...q })).toEqual([]);
  });

  it.each(examples)('%s is reachable from the editor defaults and survives type switches', (_name, q) => {
    const start = { refId: 'A', ...DEFAULT_QUERY } as InfermonQuery;
    const switched = switchQueryType(start, q.queryType!);
    // every default of the new type is a field of that type, so setting the example's fields reaches it exactly
    const defaultsFields = Object.keys(switched).filter((k) => k !== 'refId' && k !== 'queryType');
    const cleared = { ...switched } as Record<string, unknown>;
    for (const k of defaultsFields) {
      delete cleared[k];
    }
    expect({ ...cleared, ...q }).toEqual({ refId: 'A', ...q });
    expect(problems(switched).filter((p) => !p.startsWith('threshold') && !p.startsWith('expr'))).toEqual([]);

    // away and back keeps the scope fields of scoped queries
    const full = { refId: 'A', ...q } as InfermonQuery;
    const other = q.queryType === 'fleet' ? 'metric' : 'fleet';
    const back = switchQueryType(switchQueryType(full, other), q.queryType!);
    if (q.queryType !== 'promql') {
      for (const k of ['models', 'namespaces', 'backend', 'filters'] as const) {
        expect(back[k]).toEqual(full[k]);
      }
    }
    expect(problems(switchQueryType(full, other)).filter((p) => p.includes('not a field'))).toEqual([]);
  });

  it.each(examples)(
    '%s round-trips through the QueryEditor unchanged and is what the preview sends',
    async (_name, q) => {
      installTemplateSrv({});
      const bodies: unknown[] = [];
      installBackend({
        'GET catalog': () => ({ data: CATALOG }),
        'GET models': () => ({ data: MODELS }),
        'POST translate': (req) => {
          bodies.push(req.data);
          return { data: { queries: [{ key: 'value', expr: 'up' }], notices: [], approximate: false } };
        },
      });
      const onChange = jest.fn();
      const query = { refId: 'A', ...q } as InfermonQuery;
      render(<QueryEditor datasource={makeDataSource()} query={query} onChange={onChange} onRunQuery={jest.fn()} />);
      await waitFor(() => expect(bodies).toHaveLength(1));
      expect(bodies[0]).toEqual(query);
      expect(onChange).not.toHaveBeenCalled();
    }
  );
});
