import React, { useState } from 'react';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';

import { QueryEditor, thresholdChoices } from './QueryEditor';
import { InfermonQuery } from '../query/types';
import { CATALOG, Call, MODELS, installBackend, installTemplateSrv, makeDataSource } from '../test/grafana';
import { parseCatalog } from '../resources';

function setup(initial: InfermonQuery, translate?: (body: unknown) => { status?: number; data: unknown }) {
  const calls: Call[] = installBackend({
    'GET catalog': () => ({ data: CATALOG }),
    'GET models': () => ({ data: MODELS }),
    'POST translate': (req) =>
      translate
        ? translate(req.data)
        : { data: { queries: [{ expr: `PROMQL(${JSON.stringify(req.data)})` }], notices: [] } },
  });
  const ds = makeDataSource();
  const changes: InfermonQuery[] = [];
  const onRunQuery = jest.fn();
  function Host() {
    const [query, setQuery] = useState(initial);
    return (
      <QueryEditor
        datasource={ds}
        query={query}
        onRunQuery={onRunQuery}
        onChange={(q) => {
          changes.push(q);
          setQuery(q);
        }}
      />
    );
  }
  render(<Host />);
  return { calls, changes, onRunQuery, last: () => changes[changes.length - 1] };
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Opens the combobox labelled `label` and clicks the option whose name starts with `option`. */
async function pick(user: ReturnType<typeof userEvent.setup>, label: string, option: string) {
  const box = screen.getByRole('combobox', { name: label });
  if (box.getAttribute('aria-expanded') !== 'true') {
    await user.click(box); // a multi-select stays open after a pick
  }
  await user.click(await screen.findByRole('option', { name: new RegExp(`^${escapeRe(option)}`) }));
}

describe('QueryEditor', () => {
  beforeEach(() => {
    installTemplateSrv({ model: ['llama-3-8b', 'qwen-2.5-7b'], namespace: 'prod' });
  });

  it('metric: concept (with description, unit, backend support) and statistic, including any quantile', async () => {
    const user = userEvent.setup({ delay: null });
    const { last, onRunQuery } = setup({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95' });
    expect(
      await screen.findByText('tgi: approximate — TGI has no TTFT histogram: queue + prefill')
    ).toBeInTheDocument();
    expect(screen.getByTestId('infermon-concept-description')).toHaveTextContent(
      'Time from request arrival to the first generated token'
    );
    expect(screen.getByLabelText('Unit')).toHaveValue('s');

    await pick(user, 'Concept', 'Inter-token latency');
    expect(last()).toEqual({ refId: 'A', queryType: 'metric', concept: 'inter_token_latency', stat: 'p95' });
    await pick(user, 'Statistic', 'p99');
    expect(last().stat).toBe('p99');
    expect(onRunQuery).toHaveBeenCalledTimes(2);

    const stat = screen.getByRole('combobox', { name: 'Statistic' });
    await user.type(stat, 'p99.9', { initialSelectionStart: 0, initialSelectionEnd: 10 });
    await user.click(await screen.findByRole('option', { name: /p99\.9/ }));
    expect(last()).toEqual({ refId: 'A', queryType: 'metric', concept: 'inter_token_latency', stat: 'p99.9' });
  });

  it('metric: models and namespaces (from /models, variables allowed) and backend', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = setup({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95' });
    await pick(user, 'Models', 'llama-3-8b');
    await pick(user, 'Models', '$model');
    expect(last().models).toEqual(['llama-3-8b', '$model']);
    await user.keyboard('{Escape}');
    await pick(user, 'Namespaces', 'prod');
    expect(last().namespaces).toEqual(['prod']);
    await user.keyboard('{Escape}');
    await user.click(screen.getByRole('radio', { name: 'vLLM' }));
    expect(last()).toEqual({
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      stat: 'p95',
      models: ['llama-3-8b', '$model'],
      namespaces: ['prod'],
      backend: 'vllm',
    });
    await user.click(screen.getByRole('radio', { name: 'Auto' }));
    expect(last().backend).toBeUndefined();
  });

  it('metric: group-by, label filters, legend and rate window', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = setup({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95' });
    // the default group-by (model) is shown; adding a label keeps it
    const groupBy = screen.getByPlaceholderText('model');
    await user.type(groupBy, 'pod{Enter}');
    expect(last().groupBy).toEqual(['model', 'pod']);

    await user.click(screen.getByRole('button', { name: /Add filter/ }));
    await user.click(screen.getByLabelText('Filter 1 label'));
    await user.paste('pod');
    await user.click(
      within(screen.getByRole('radiogroup', { name: 'Filter 1 operator' })).getByRole('radio', { name: '=~' })
    );
    await user.click(screen.getByLabelText('Filter 1 value'));
    await user.paste('vllm-.*');
    await user.click(screen.getByLabelText('Legend'));
    await user.paste('{{model}} p95');
    await user.click(screen.getByLabelText('Rate window'));
    await user.paste('5m');

    expect(last()).toEqual({
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      stat: 'p95',
      groupBy: ['model', 'pod'],
      filters: [{ label: 'pod', op: '=~', value: 'vllm-.*' }],
      legend: '{{model}} p95',
      window: '5m',
    });
    await user.click(screen.getByRole('button', { name: 'Remove filter 1' }));
    expect(last().filters).toBeUndefined();

    // removing every group-by label asks for one fleet-wide series: [] (not the default)
    for (const tag of ['model', 'pod']) {
      await user.click(screen.getByRole('button', { name: `Remove tag: ${tag}` }));
    }
    expect(last().groupBy).toEqual([]);
  });

  it('metric: changing to a concept whose statistics differ picks that concept default', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = setup({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95' });
    await screen.findByTestId('infermon-concept-description');
    await pick(user, 'Concept', 'KV-cache usage');
    expect(last()).toMatchObject({ concept: 'kv_cache_usage', stat: 'current' });
    await pick(user, 'Concept', 'Generated tokens/s');
    expect(last()).toMatchObject({ concept: 'generation_tokens_rate', stat: 'rate' });
  });

  it('slo: threshold is chosen from the bucket boundaries shared by the covered backends', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = setup({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95', models: ['llama-3-8b'] });
    await screen.findByTestId('infermon-concept-description');
    await user.click(screen.getByRole('radio', { name: 'SLO' }));
    expect(last()).toEqual({
      refId: 'A',
      queryType: 'slo',
      sli: 'ttft',
      objective: 0.99,
      window: '30d',
      view: 'attainment',
      models: ['llama-3-8b'],
    });

    // llama-3-8b is served by vLLM: its boundaries are offered
    await user.click(screen.getByRole('combobox', { name: 'Threshold' }));
    let options = (await screen.findAllByRole('option')).map((o) => o.textContent);
    expect(options).toEqual(
      expect.arrayContaining([expect.stringContaining('500 ms'), expect.stringContaining('7.5 s')])
    );
    await user.click(screen.getByRole('option', { name: /500 ms/ }));
    expect(last().threshold).toBe(0.5);

    // with SGLang too, only the boundaries both have remain
    await pick(user, 'Models', 'qwen-2.5-7b');
    await user.click(screen.getByRole('combobox', { name: 'Threshold' }));
    options = (await screen.findAllByRole('option')).map((o) => o.textContent ?? '');
    expect(options.map((o) => o.replace(/\s+/g, ' '))).toEqual(
      expect.arrayContaining(['100 ms', '250 ms', '500 ms', '1 s', '5 s'])
    );
    expect(options.some((o) => o.includes('7.5 s'))).toBe(false);
    await user.keyboard('{Escape}');

    await pick(user, 'Objective', '99.9%');
    expect(last().objective).toBe(0.999);
    await user.click(screen.getByLabelText('Interpolate'));
    expect(last().interpolate).toBe(true);
    const win = screen.getByLabelText('SLO window');
    await user.clear(win);
    await user.paste('28d');
    await user.click(screen.getByRole('radio', { name: 'Burn rate' }));
    expect(last()).toMatchObject({ view: 'burnRate', burnWindow: '1h', window: '28d' });
    const bw = screen.getByLabelText('Burn window');
    await user.clear(bw);
    await user.paste('5m');
    expect(last().burnWindow).toBe('5m');
    await user.click(screen.getByRole('radio', { name: 'Budget remaining' }));
    expect(last().view).toBe('budgetRemaining');
    expect(last().burnWindow).toBeUndefined();

    // the SLO name links the query to the rules' records; a name the spec could not hold is flagged
    const name = screen.getByLabelText('SLO name');
    await user.click(name);
    await user.paste('TTFT 500');
    expect(last().slo).toBe('TTFT 500');
    expect(await screen.findByText('Lowercase letters, digits and dashes, e.g. ttft-500ms')).toBeInTheDocument();
    await user.clear(name);
    expect(last().slo).toBeUndefined();
    await user.paste('ttft-500ms');
    expect(last().slo).toBe('ttft-500ms');
    expect(screen.queryByText('Lowercase letters, digits and dashes, e.g. ttft-500ms')).not.toBeInTheDocument();

    // error_ratio takes no threshold
    await pick(user, 'SLI', 'Error ratio');
    expect(last().sli).toBe('error_ratio');
    expect(last().threshold).toBeUndefined();
    expect(screen.queryByRole('combobox', { name: 'Threshold' })).not.toBeInTheDocument();
  });

  it('fleet and promql keep only their own fields', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = setup({
      refId: 'A',
      queryType: 'metric',
      concept: 'ttft',
      stat: 'p95',
      models: ['a'],
      legend: 'x',
      groupBy: ['model'],
    });
    await user.click(screen.getByRole('radio', { name: 'Fleet table' }));
    expect(last()).toEqual({ refId: 'A', queryType: 'fleet', models: ['a'] });
    await user.click(screen.getByRole('radio', { name: 'PromQL' }));
    expect(last()).toEqual({ refId: 'A', queryType: 'promql', expr: '' });
    await user.click(screen.getByLabelText('PromQL expression'));
    await user.paste('sum(up)');
    await user.click(screen.getByLabelText('Legend'));
    await user.paste('all');
    expect(last()).toEqual({ refId: 'A', queryType: 'promql', expr: 'sum(up)', legend: 'all' });
  });

  it('preview shows the backend PromQL for the interpolated query, copyable, with the approximation notice', async () => {
    const bodies: unknown[] = [];
    setup({ refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95', models: ['$model'] }, (body) => {
      bodies.push(body);
      return {
        data: {
          queries: [{ expr: 'histogram_quantile(0.95, sum by (le, model) (rate(x_bucket[5m])))', unit: 's' }],
          notices: [{ severity: 'warning', text: 'TGI does not expose TTFT; showing queue + prefill (approximation)' }],
          approximate: true,
        },
      };
    });
    expect(await screen.findByLabelText('PromQL 1')).toHaveTextContent(
      'histogram_quantile(0.95, sum by (le, model) (rate(x_bucket[5m])))'
    );
    expect(bodies).toEqual([
      { refId: 'A', queryType: 'metric', concept: 'ttft', stat: 'p95', models: ['llama-3-8b', 'qwen-2.5-7b'] },
    ]);
    const preview = screen.getByTestId('infermon-preview');
    expect(within(preview).getByText('Approximation')).toBeInTheDocument();
    expect(within(preview).getByText(/showing queue \+ prefill/)).toBeInTheDocument();
    expect(within(preview).getByRole('button', { name: /Copy/ })).toBeInTheDocument();
  });

  it('preview shows the backend error and, for an incomplete query, what is missing without calling it', async () => {
    const user = userEvent.setup({ delay: null });
    const { calls } = setup({ refId: 'A', queryType: 'promql', expr: 'sum(' }, () => ({
      status: 400,
      data: { error: 'parse error: unclosed left parenthesis' },
    }));
    expect(await screen.findByText('parse error: unclosed left parenthesis')).toBeInTheDocument();
    await user.clear(screen.getByLabelText('PromQL expression'));
    expect(await screen.findByText('expr: enter a PromQL expression')).toBeInTheDocument();
    const before = calls.filter((c) => c.method === 'POST').length;
    await act(() => new Promise((r) => setTimeout(r, 400)));
    expect(calls.filter((c) => c.method === 'POST').length).toBe(before);
  });

  it('works without the backend catalog: built-in concepts and a notice', async () => {
    installBackend({});
    const ds = makeDataSource();
    render(
      <QueryEditor
        datasource={ds}
        query={{ refId: 'A', queryType: 'metric', concept: 'ttft' }}
        onChange={jest.fn()}
        onRunQuery={jest.fn()}
      />
    );
    expect(await screen.findByText('Concept catalog unavailable')).toBeInTheDocument();
    await waitFor(() =>
      expect(screen.getByTestId('infermon-concept-description')).toHaveTextContent('first generated token')
    );
  });
});

describe('thresholdChoices', () => {
  const ttft = parseCatalog(CATALOG).concepts[0];
  it('intersects the covered backends with buckets and ignores unsupported ones', () => {
    expect(thresholdChoices(ttft, ['sglang'])).toEqual([0.1, 0.25, 0.5, 1.0, 2.0, 5.0]);
    expect(thresholdChoices(ttft, ['vllm', 'sglang'])).toEqual([0.1, 0.25, 0.5, 1.0, 5.0]);
    expect(thresholdChoices(ttft, ['tgi'])).toEqual([]);
    expect(thresholdChoices(ttft, undefined)).toEqual([0.1, 0.25, 0.5, 1.0, 5.0]);
  });
});
