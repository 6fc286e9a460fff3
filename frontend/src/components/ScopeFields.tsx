/**
 * The scope fields shared by metric, SLO and fleet queries: models, namespaces (multi-selects fed by `/models`,
 * template variables allowed), backend, and extra label filters.
 */
import React from 'react';
import {
  Button,
  ComboboxOption,
  IconButton,
  InlineField,
  InlineFieldRow,
  Input,
  MultiCombobox,
  RadioButtonGroup,
  Stack,
} from '@grafana/ui';

import { BACKENDS, BackendChoice, FILTER_OPS, FilterOp, InfermonQuery, LabelFilter } from '../query/types';
import { ModelInfo } from '../resources';

export const LABEL_WIDTH = 16;

export const BACKEND_LABELS: Record<BackendChoice, string> = {
  auto: 'Auto',
  vllm: 'vLLM',
  tgi: 'TGI',
  sglang: 'SGLang',
  llamacpp: 'llama.cpp',
};

interface Props {
  query: InfermonQuery;
  models: ModelInfo[];
  variables: string[];
  onChange: (q: InfermonQuery, run?: boolean) => void;
}

function listOptions(values: string[], variables: string[], selected: string[]): Array<ComboboxOption<string>> {
  const all = [...variables, ...values.filter((v) => !variables.includes(v))];
  for (const s of selected) {
    if (!all.includes(s)) {
      all.push(s);
    }
  }
  return all.map((v) => ({ value: v, label: v, ...(v.startsWith('$') ? { description: 'template variable' } : {}) }));
}

export function ScopeFields({ query, models, variables, onChange }: Props) {
  const selectedModels = query.models ?? [];
  const selectedNamespaces = query.namespaces ?? [];
  const nsFiltered = selectedNamespaces.length
    ? models.filter(
        (m) =>
          !m.namespace || selectedNamespaces.includes(m.namespace) || selectedNamespaces.some((n) => n.startsWith('$'))
      )
    : models;
  const modelNames = Array.from(new Set(nsFiltered.map((m) => m.model))).sort();
  const namespaces = Array.from(new Set(models.map((m) => m.namespace).filter((n): n is string => !!n))).sort();
  const filters = query.filters ?? [];

  const setFilters = (next: LabelFilter[], run: boolean) =>
    onChange({ ...query, filters: next.length ? next : undefined }, run);
  const setFilter = (i: number, patch: Partial<LabelFilter>, run: boolean) =>
    setFilters(
      filters.map((f, j) => (i === j ? { ...f, ...patch } : f)),
      run
    );

  return (
    <>
      <InlineFieldRow>
        <InlineField
          label="Models"
          labelWidth={LABEL_WIDTH}
          tooltip="Empty = all models. Template variables such as $model are allowed."
        >
          <MultiCombobox<string>
            id="infermon-models"
            width={48}
            placeholder="All models"
            createCustomValue
            options={listOptions(modelNames, variables, selectedModels)}
            value={selectedModels}
            onChange={(opts) => {
              const modelsNext = opts.map((o) => o.value);
              onChange({ ...query, models: modelsNext.length ? modelsNext : undefined }, true);
            }}
          />
        </InlineField>
        <InlineField
          label="Namespaces"
          htmlFor="infermon-namespaces"
          labelWidth={LABEL_WIDTH}
          tooltip="Kubernetes namespaces; empty = all."
        >
          <MultiCombobox<string>
            id="infermon-namespaces"
            width={32}
            placeholder="All namespaces"
            createCustomValue
            options={listOptions(namespaces, variables, selectedNamespaces)}
            value={selectedNamespaces}
            onChange={(opts) => {
              const namespacesNext = opts.map((o) => o.value);
              onChange({ ...query, namespaces: namespacesNext.length ? namespacesNext : undefined }, true);
            }}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="Backend" labelWidth={LABEL_WIDTH} tooltip="Auto covers every inference server found.">
          <RadioButtonGroup<BackendChoice>
            options={BACKENDS.map((b) => ({ label: BACKEND_LABELS[b], value: b }))}
            value={query.backend ?? 'auto'}
            onChange={(b) => onChange({ ...query, backend: b === 'auto' ? undefined : b }, true)}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="Label filters"
          labelWidth={LABEL_WIDTH}
          tooltip="Extra matchers on every raw series, e.g. pod =~ vllm-.*"
        >
          <Stack direction="column" gap={0.5}>
            {filters.map((f, i) => (
              <Stack key={i} direction="row" gap={0.5} alignItems="center">
                <Input
                  aria-label={`Filter ${i + 1} label`}
                  width={16}
                  placeholder="label"
                  value={f.label}
                  onChange={(e) => setFilter(i, { label: e.currentTarget.value }, false)}
                  onBlur={() => onChange(query, true)}
                />
                <RadioButtonGroup<FilterOp>
                  aria-label={`Filter ${i + 1} operator`}
                  size="sm"
                  options={FILTER_OPS.map((op) => ({ value: op, label: op }))}
                  value={f.op}
                  onChange={(op) => setFilter(i, { op }, true)}
                />
                <Input
                  aria-label={`Filter ${i + 1} value`}
                  width={24}
                  placeholder="value"
                  value={f.value}
                  onChange={(e) => setFilter(i, { value: e.currentTarget.value }, false)}
                  onBlur={() => onChange(query, true)}
                />
                <IconButton
                  name="times"
                  tooltip={`Remove filter ${i + 1}`}
                  onClick={() =>
                    setFilters(
                      filters.filter((_, j) => j !== i),
                      true
                    )
                  }
                />
              </Stack>
            ))}
            <div>
              <Button
                variant="secondary"
                size="sm"
                icon="plus"
                onClick={() => setFilters([...filters, { label: '', op: '=', value: '' }], false)}
              >
                Add filter
              </Button>
            </div>
          </Stack>
        </InlineField>
      </InlineFieldRow>
    </>
  );
}
