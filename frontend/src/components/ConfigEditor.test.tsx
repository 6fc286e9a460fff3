import React, { useState } from 'react';
import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { DataSourceSettings } from '@grafana/data';

import { ConfigEditor } from './ConfigEditor';
import { InfermonOptions, InfermonSecureOptions } from '../settings/types';

type Settings = DataSourceSettings<InfermonOptions, InfermonSecureOptions>;

function baseSettings(overrides: Partial<Settings> = {}): Settings {
  return {
    id: 1,
    uid: 'infermon',
    orgId: 1,
    name: 'Inference',
    type: 'infermon-inference-datasource',
    typeName: 'Inference',
    typeLogoUrl: '',
    access: 'proxy',
    url: '',
    user: '',
    basicAuth: false,
    basicAuthUser: '',
    isDefault: false,
    jsonData: {},
    secureJsonFields: {},
    readOnly: false,
    withCredentials: false,
    ...overrides,
  } as Settings;
}

/** Renders the editor the way Grafana does: it owns the settings and feeds every change back in. */
function renderStateful(initial: Settings) {
  const changes: Settings[] = [];
  function Host() {
    const [options, setOptions] = useState(initial);
    return (
      <ConfigEditor
        options={options}
        onOptionsChange={(o) => {
          changes.push(o);
          setOptions(o);
        }}
      />
    );
  }
  render(<Host />);
  const last = () => changes[changes.length - 1];
  return { changes, last };
}

describe('ConfigEditor', () => {
  it('renders defaults as placeholders and selected defaults without writing anything', () => {
    const { changes } = renderStateful(baseSettings());
    expect(screen.getByLabelText(/Prometheus URL/)).toHaveValue('');
    expect(screen.getByLabelText(/Timeout/)).toHaveAttribute('placeholder', '60');
    expect(screen.getByLabelText(/TGI model label/)).toHaveAttribute('placeholder', 'model');
    expect(screen.getByLabelText(/Scrape interval/)).toHaveAttribute('placeholder', '15s');
    expect(screen.getByRole('radio', { name: 'POST' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'Auto-detect' })).toBeChecked();
    expect(screen.getByRole('radio', { name: 'No authentication' })).toBeChecked();
    expect(changes).toHaveLength(0);
  });

  it('writes url and every jsonData key of the settings contract', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = renderStateful(baseSettings());

    await user.type(screen.getByLabelText(/Prometheus URL/), 'http://prom:9090');
    expect(last().url).toBe('http://prom:9090');

    await user.click(screen.getByRole('radio', { name: 'GET' }));
    expect(last().jsonData.httpMethod).toBe('GET');

    await user.type(screen.getByLabelText(/Timeout/), '30');
    expect(last().jsonData.timeoutSeconds).toBe(30);

    await user.click(screen.getByLabelText(/Skip TLS/));
    expect(last().jsonData.tlsSkipVerify).toBe(true);

    await user.click(screen.getByRole('radio', { name: 'TGI' }));
    expect(last().jsonData.backendOverride).toBe('tgi');

    await user.type(screen.getByLabelText(/TGI model label/), 'service');
    expect(last().jsonData.tgiModelLabel).toBe('service');

    await user.click(screen.getByRole('radio', { name: 'Off' }));
    expect(last().jsonData.recordingRules).toBe('off');

    await user.type(screen.getByLabelText(/Scrape interval/), '30s');
    expect(last().jsonData.scrapeInterval).toBe('30s');

    expect(last().jsonData).toEqual({
      httpMethod: 'GET',
      timeoutSeconds: 30,
      tlsSkipVerify: true,
      backendOverride: 'tgi',
      tgiModelLabel: 'service',
      recordingRules: 'off',
      scrapeInterval: '30s',
    });
  });

  it('rejects a bad timeout and a bad scrape interval with a specific message and keeps the last valid value', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = renderStateful(baseSettings({ jsonData: { scrapeInterval: '15s', timeoutSeconds: 60 } }));

    const scrape = screen.getByLabelText(/Scrape interval/);
    await user.clear(scrape);
    await user.type(scrape, '15 seconds');
    expect(screen.getByText(/Expected a Prometheus duration/)).toBeInTheDocument();
    expect(last().jsonData.scrapeInterval).toBeUndefined(); // cleared on the way, never the invalid text
    await user.clear(scrape);
    await user.type(scrape, '1m30s');
    expect(last().jsonData.scrapeInterval).toBe('1m30s');

    const timeout = screen.getByLabelText(/Timeout/);
    await user.clear(timeout);
    await user.type(timeout, '-5');
    expect(screen.getByText(/positive whole number of seconds/)).toBeInTheDocument();
    expect(last().jsonData.timeoutSeconds).toBeUndefined();
  });

  it('basic auth uses the standard basicAuth/basicAuthUser fields and secureJsonData.basicAuthPassword', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = renderStateful(baseSettings());
    await user.click(screen.getByRole('radio', { name: 'Basic' }));
    expect(last().basicAuth).toBe(true);
    await user.type(screen.getByLabelText('User'), 'alice');
    await user.type(screen.getByLabelText('Password'), 's3cret');
    expect(last().basicAuthUser).toBe('alice');
    expect(last().secureJsonData?.basicAuthPassword).toBe('s3cret');
  });

  it('bearer token goes to secureJsonData.bearerToken and switching method resets the other secrets', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = renderStateful(
      baseSettings({ basicAuth: true, basicAuthUser: 'alice', secureJsonFields: { basicAuthPassword: true } })
    );
    expect(screen.getByRole('radio', { name: 'Basic' })).toBeChecked();
    await user.click(screen.getByRole('radio', { name: 'Bearer token' }));
    expect(last().basicAuth).toBe(false);
    expect(last().basicAuthUser).toBe('');
    expect(last().secureJsonFields.basicAuthPassword).toBe(false);
    expect(last().secureJsonData?.basicAuthPassword).toBe('');
    await user.type(screen.getByLabelText(/^Token/), 'tok');
    expect(last().secureJsonData?.bearerToken).toBe('tok');
  });

  it('a configured secret shows as configured and Reset follows the standard pattern', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = renderStateful(baseSettings({ secureJsonFields: { bearerToken: true } }));
    expect(screen.getByRole('radio', { name: 'Bearer token' })).toBeChecked();
    const token = screen.getByLabelText(/^Token/);
    expect(token).toBeDisabled();
    expect(token).toHaveValue('configured');
    await user.click(screen.getByRole('button', { name: 'Reset' }));
    expect(last().secureJsonFields.bearerToken).toBe(false);
    expect(last().secureJsonData?.bearerToken).toBe('');
    expect(screen.getByLabelText(/^Token/)).toBeEnabled();
  });

  it('custom headers use httpHeaderNameN / secure httpHeaderValueN, and removal resets the secret', async () => {
    const user = userEvent.setup({ delay: null });
    const { last } = renderStateful(
      baseSettings({ jsonData: { httpHeaderName1: 'X-Scope-OrgID' }, secureJsonFields: { httpHeaderValue1: true } })
    );
    expect(screen.getByLabelText('Header name 1')).toHaveValue('X-Scope-OrgID');
    expect(screen.getByLabelText('Header value 1')).toHaveValue('configured');

    await user.click(screen.getByRole('button', { name: /Add header/ }));
    expect(last().jsonData.httpHeaderName2).toBe('');
    await user.type(screen.getByLabelText('Header name 2'), 'X-Team');
    await user.type(screen.getByLabelText('Header value 2'), 'ml');
    expect(last().jsonData.httpHeaderName2).toBe('X-Team');
    expect(last().secureJsonData?.httpHeaderValue2).toBe('ml');

    const row1 = screen.getByLabelText('Header name 1').parentElement!.parentElement!.parentElement!;
    await user.click(within(row1).getByRole('button', { name: 'Remove header 1' }));
    expect(last().jsonData.httpHeaderName1).toBeUndefined();
    expect(last().secureJsonFields.httpHeaderValue1).toBe(false);
    expect(last().secureJsonData?.httpHeaderValue1).toBe('');
    expect(last().jsonData.httpHeaderName2).toBe('X-Team');

    // the freed index is reused
    await user.click(screen.getByRole('button', { name: /Add header/ }));
    expect(last().jsonData.httpHeaderName1).toBe('');
  });
});
