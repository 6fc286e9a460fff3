/**
 * ConfigEditor: the data source's settings page.
 *
 * Writes exactly the keys of the settings contract (frontend/README.md, src/settings/types.ts). Secrets go to
 * secureJsonData through SecretInput with Grafana's standard reset pattern: a configured secret is shown as
 * "configured" (Grafana never sends it back), and "Reset" marks it unconfigured and empties it.
 */
import React, { ChangeEvent, useState } from 'react';
import {
  DataSourcePluginOptionsEditorProps,
  DataSourceSettings,
  SelectableValue,
  onUpdateDatasourceJsonDataOption,
} from '@grafana/data';
import { Button, Field, FieldSet, IconButton, Input, RadioButtonGroup, SecretInput, Stack, Switch } from '@grafana/ui';

import {
  AuthMethod,
  BACKEND_OVERRIDES,
  BackendOverride,
  HTTP_METHODS,
  HttpMethod,
  InfermonOptions,
  InfermonSecureOptions,
  RECORDING_RULES_MODES,
  RecordingRulesMode,
  SETTINGS_DEFAULTS,
  isValidDuration,
} from '../settings/types';

export type Props = DataSourcePluginOptionsEditorProps<InfermonOptions, InfermonSecureOptions>;
type Settings = DataSourceSettings<InfermonOptions, InfermonSecureOptions>;

const BACKEND_LABELS: Record<BackendOverride, string> = {
  auto: 'Auto-detect',
  vllm: 'vLLM',
  tgi: 'TGI',
  sglang: 'SGLang',
  llamacpp: 'llama.cpp',
};

const RECORDING_LABELS: Record<RecordingRulesMode, string> = { auto: 'Auto', on: 'On', off: 'Off' };

const AUTH_OPTIONS: Array<SelectableValue<AuthMethod>> = [
  { label: 'No authentication', value: 'none' },
  { label: 'Basic', value: 'basic' },
  { label: 'Bearer token', value: 'bearer' },
];

const LABEL_WIDTH = 24;

/** Which auth method the stored settings express (basic wins, as in the backend). */
export function authMethodOf(options: Settings): AuthMethod {
  if (options.basicAuth) {
    return 'basic';
  }
  if (options.secureJsonFields?.bearerToken || options.secureJsonData?.bearerToken) {
    return 'bearer';
  }
  return 'none';
}

/** Indices N of the custom headers present in jsonData (httpHeaderNameN), in ascending order. */
export function headerIndices(jsonData: InfermonOptions): number[] {
  return Object.keys(jsonData)
    .map((k) => /^httpHeaderName([0-9]+)$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

function resetSecret(options: Settings, key: keyof InfermonSecureOptions): Settings {
  return {
    ...options,
    secureJsonFields: { ...options.secureJsonFields, [key]: false },
    secureJsonData: { ...options.secureJsonData, [key]: '' },
  };
}

function setSecret(options: Settings, key: keyof InfermonSecureOptions, value: string): Settings {
  return { ...options, secureJsonData: { ...options.secureJsonData, [key]: value } };
}

export function ConfigEditor(props: Props) {
  const { options, onOptionsChange } = props;
  const jsonData = options.jsonData ?? {};
  const secureJsonFields = options.secureJsonFields ?? {};
  const secureJsonData = options.secureJsonData ?? {};

  // The chosen auth method is derived from the settings, but "bearer" has no stored flag until a token is
  // typed, so remember the user's choice locally.
  const [authChoice, setAuthChoice] = useState<AuthMethod>(authMethodOf(options));
  const [scrapeDraft, setScrapeDraft] = useState<string>(jsonData.scrapeInterval ?? '');
  const [timeoutDraft, setTimeoutDraft] = useState<string>(
    jsonData.timeoutSeconds !== undefined ? String(jsonData.timeoutSeconds) : ''
  );

  const updateJson = (patch: Partial<InfermonOptions>) =>
    onOptionsChange({ ...options, jsonData: { ...jsonData, ...patch } });

  const onAuthChange = (method: AuthMethod) => {
    setAuthChoice(method);
    let next: Settings = { ...options, basicAuth: method === 'basic' };
    if (method !== 'basic') {
      next = { ...resetSecret(next, 'basicAuthPassword'), basicAuthUser: '' };
    }
    if (method !== 'bearer') {
      next = resetSecret(next, 'bearerToken');
    }
    onOptionsChange(next);
  };

  const onTimeoutChange = (e: ChangeEvent<HTMLInputElement>) => {
    const raw = e.currentTarget.value;
    setTimeoutDraft(raw);
    if (raw.trim() === '') {
      updateJson({ timeoutSeconds: undefined });
    } else if (/^[0-9]+$/.test(raw.trim()) && Number(raw) > 0) {
      updateJson({ timeoutSeconds: Number(raw) });
    }
  };
  const timeoutInvalid =
    timeoutDraft.trim() !== '' && !(/^[0-9]+$/.test(timeoutDraft.trim()) && Number(timeoutDraft) > 0);

  const onScrapeChange = (e: ChangeEvent<HTMLInputElement>) => {
    const text = e.currentTarget.value;
    const raw = text.trim();
    setScrapeDraft(text);
    if (raw === '') {
      updateJson({ scrapeInterval: undefined });
    } else if (isValidDuration(raw)) {
      updateJson({ scrapeInterval: raw });
    }
  };
  const scrapeInvalid = scrapeDraft.trim() !== '' && !isValidDuration(scrapeDraft.trim());

  const indices = headerIndices(jsonData);
  const addHeader = () => {
    let n = 1;
    while (indices.includes(n)) {
      n++;
    }
    updateJson({ [`httpHeaderName${n}`]: '' });
  };
  const removeHeader = (n: number) => {
    const nextJson: InfermonOptions = { ...jsonData };
    delete nextJson[`httpHeaderName${n}`];
    onOptionsChange({ ...resetSecret(options, `httpHeaderValue${n}`), jsonData: nextJson });
  };

  return (
    <>
      <FieldSet label="Connection">
        <Field
          label="Prometheus URL"
          description="Prometheus-compatible query API root (Prometheus, Thanos, Mimir with its /prometheus prefix, VictoriaMetrics)."
          required
        >
          <Input
            id="infermon-url"
            width={60}
            value={options.url ?? ''}
            placeholder="http://prometheus:9090"
            onChange={(e) => onOptionsChange({ ...options, url: e.currentTarget.value })}
          />
        </Field>
        <Field label="HTTP method" description="POST avoids URL length limits; some proxies only allow GET.">
          <RadioButtonGroup<HttpMethod>
            options={HTTP_METHODS.map((m) => ({ label: m, value: m }))}
            value={jsonData.httpMethod ?? SETTINGS_DEFAULTS.httpMethod}
            onChange={(v) => updateJson({ httpMethod: v })}
          />
        </Field>
        <Field
          label="Timeout (seconds)"
          description="Per request to the engine."
          invalid={timeoutInvalid}
          error={timeoutInvalid ? 'Expected a positive whole number of seconds' : undefined}
        >
          <Input
            id="infermon-timeout"
            width={LABEL_WIDTH}
            value={timeoutDraft}
            placeholder={String(SETTINGS_DEFAULTS.timeoutSeconds)}
            onChange={onTimeoutChange}
          />
        </Field>
        <Field
          label="Skip TLS certificate verification"
          description="Only for test setups with self-signed certificates."
        >
          <Switch
            id="infermon-tls-skip-verify"
            value={jsonData.tlsSkipVerify ?? false}
            onChange={(e) => updateJson({ tlsSkipVerify: e.currentTarget.checked })}
          />
        </Field>
      </FieldSet>

      <FieldSet label="Authentication">
        <Field label="Method">
          <RadioButtonGroup<AuthMethod> options={AUTH_OPTIONS} value={authChoice} onChange={onAuthChange} />
        </Field>
        {authChoice === 'basic' && (
          <Stack direction="column" gap={0}>
            <Field label="User">
              <Input
                id="infermon-basic-user"
                width={40}
                value={options.basicAuthUser ?? ''}
                onChange={(e) => onOptionsChange({ ...options, basicAuthUser: e.currentTarget.value })}
              />
            </Field>
            <Field label="Password">
              <SecretInput
                id="infermon-basic-password"
                width={40}
                isConfigured={Boolean(secureJsonFields.basicAuthPassword)}
                value={secureJsonData.basicAuthPassword ?? ''}
                onReset={() => onOptionsChange(resetSecret(options, 'basicAuthPassword'))}
                onChange={(e) => onOptionsChange(setSecret(options, 'basicAuthPassword', e.currentTarget.value))}
              />
            </Field>
          </Stack>
        )}
        {authChoice === 'bearer' && (
          <Field label="Token" description="Sent as Authorization: Bearer <token>.">
            <SecretInput
              id="infermon-bearer-token"
              width={60}
              isConfigured={Boolean(secureJsonFields.bearerToken)}
              value={secureJsonData.bearerToken ?? ''}
              onReset={() => onOptionsChange(resetSecret(options, 'bearerToken'))}
              onChange={(e) => onOptionsChange(setSecret(options, 'bearerToken', e.currentTarget.value))}
            />
          </Field>
        )}
        <Field
          label="Custom HTTP headers"
          description="Sent with every request to the engine, e.g. X-Scope-OrgID for Mimir. Values are stored encrypted."
        >
          <Stack direction="column" gap={1}>
            {indices.map((n) => {
              const valueKey = `httpHeaderValue${n}` as const;
              return (
                <Stack key={n} direction="row" gap={1} alignItems="center">
                  <Input
                    aria-label={`Header name ${n}`}
                    width={30}
                    placeholder="X-Scope-OrgID"
                    value={jsonData[`httpHeaderName${n}`] ?? ''}
                    onChange={(e) => updateJson({ [`httpHeaderName${n}`]: e.currentTarget.value })}
                  />
                  <SecretInput
                    aria-label={`Header value ${n}`}
                    width={30}
                    placeholder="value"
                    isConfigured={Boolean(secureJsonFields[valueKey])}
                    value={secureJsonData[valueKey] ?? ''}
                    onReset={() => onOptionsChange(resetSecret(options, valueKey))}
                    onChange={(e) => onOptionsChange(setSecret(options, valueKey, e.currentTarget.value))}
                  />
                  <IconButton name="trash-alt" tooltip={`Remove header ${n}`} onClick={() => removeHeader(n)} />
                </Stack>
              );
            })}
            <div>
              <Button variant="secondary" icon="plus" size="sm" onClick={addHeader}>
                Add header
              </Button>
            </div>
          </Stack>
        </Field>
      </FieldSet>

      <FieldSet label="Inference">
        <Field
          label="Backend"
          description="Auto-detect looks at which inference servers' metrics exist; force one if detection is wrong."
        >
          <RadioButtonGroup<BackendOverride>
            options={BACKEND_OVERRIDES.map((b) => ({ label: BACKEND_LABELS[b], value: b }))}
            value={jsonData.backendOverride ?? SETTINGS_DEFAULTS.backendOverride}
            onChange={(v) => updateJson({ backendOverride: v })}
          />
        </Field>
        <Field
          label="TGI model label"
          description="TGI series carry no model label; the target label that names the model (infermon's ServiceMonitor sets `model`)."
        >
          <Input
            id="infermon-tgi-model-label"
            width={LABEL_WIDTH}
            value={jsonData.tgiModelLabel ?? ''}
            placeholder={SETTINGS_DEFAULTS.tgiModelLabel}
            onChange={onUpdateDatasourceJsonDataOption(props, 'tgiModelLabel')}
          />
        </Field>
        <Field
          label="Recording rules"
          description="Use infermon's recorded series: Auto when they are detected, On always, Off never."
        >
          <RadioButtonGroup<RecordingRulesMode>
            options={RECORDING_RULES_MODES.map((m) => ({ label: RECORDING_LABELS[m], value: m }))}
            value={jsonData.recordingRules ?? SETTINGS_DEFAULTS.recordingRules}
            onChange={(v) => updateJson({ recordingRules: v })}
          />
        </Field>
        <Field
          label="Scrape interval"
          description="Prometheus' scrape interval; the floor for query steps and rate windows."
          invalid={scrapeInvalid}
          error={scrapeInvalid ? 'Expected a Prometheus duration such as 15s, 1m or 1m30s' : undefined}
        >
          <Input
            id="infermon-scrape-interval"
            width={LABEL_WIDTH}
            value={scrapeDraft}
            placeholder={SETTINGS_DEFAULTS.scrapeInterval}
            onChange={onScrapeChange}
          />
        </Field>
      </FieldSet>
    </>
  );
}
