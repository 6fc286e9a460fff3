/** Editor of a template-variable query: a list of models or of namespaces, from the backend's `/models`. */
import React from 'react';
import { DataSourceApi, QueryEditorProps } from '@grafana/data';
import { InlineField, InlineFieldRow, Input, RadioButtonGroup } from '@grafana/ui';

import { InfermonQuery } from '../query/types';
import { InfermonOptions } from '../settings/types';
import { VariableQuery, parseVariableQuery } from '../query/variable';

type Props = QueryEditorProps<
  DataSourceApi<InfermonQuery, InfermonOptions>,
  InfermonQuery,
  InfermonOptions,
  VariableQuery
>;

export function VariableQueryEditor({ query, onChange }: Props) {
  const q = parseVariableQuery(query);
  const update = (patch: Partial<VariableQuery>) => {
    const next = { ...q, ...patch };
    if (next.type === 'namespaces' || !next.namespace) {
      delete next.namespace;
    }
    if (!next.backend || next.backend === 'auto') {
      delete next.backend;
    }
    onChange(next);
  };
  return (
    <InlineFieldRow>
      <InlineField label="List" labelWidth={10}>
        <RadioButtonGroup<VariableQuery['type']>
          options={[
            { label: 'Models', value: 'models' },
            { label: 'Namespaces', value: 'namespaces' },
          ]}
          value={q.type}
          onChange={(type) => update({ type })}
        />
      </InlineField>
      {q.type === 'models' && (
        <InlineField label="Namespace" labelWidth={12} tooltip="Only models in this namespace; variables allowed.">
          <Input
            id="infermon-var-namespace"
            aria-label="Namespace"
            width={24}
            placeholder="all"
            defaultValue={q.namespace ?? ''}
            onBlur={(e) => update({ namespace: e.currentTarget.value.trim() })}
          />
        </InlineField>
      )}
      {q.type === 'models' && (
        <InlineField label="Backend" labelWidth={10}>
          <RadioButtonGroup<string>
            options={[
              { label: 'Any', value: 'auto' },
              { label: 'vLLM', value: 'vllm' },
              { label: 'TGI', value: 'tgi' },
              { label: 'SGLang', value: 'sglang' },
              { label: 'llama.cpp', value: 'llamacpp' },
            ]}
            value={q.backend ?? 'auto'}
            onChange={(backend) => update({ backend })}
          />
        </InlineField>
      )}
    </InlineFieldRow>
  );
}
