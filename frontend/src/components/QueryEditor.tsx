/**
 * QueryEditor: ask an inference question in a few clicks and see the exact PromQL it runs.
 *
 * Every control writes one field of the query model (docs/query-model.md, src/query/types.ts); lists and hints come
 * from the backend's `/catalog` and `/models`, the preview from `/translate`. When the backend cannot be reached the
 * editor falls back to the built-in concept list and free-text entry, so a query can still be written.
 */
import React, { useEffect, useMemo, useState } from 'react';
import { QueryEditorProps } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import {
  Alert,
  Combobox,
  ComboboxOption,
  InlineField,
  InlineFieldRow,
  InlineSwitch,
  Input,
  RadioButtonGroup,
  TagsInput,
  TextArea,
} from '@grafana/ui';

import type { DataSource } from '../datasource';
import { FALLBACK_CONCEPTS, STATS_BY_KIND } from '../query/concepts';
import { switchQueryType } from '../query/defaults';
import { InfermonQuery, QueryType, SloView } from '../query/types';
import { sloNameOk } from '../query/validate';
import { CatalogConcept, ModelInfo, errorMessage } from '../resources';
import { InfermonOptions } from '../settings/types';
import { PromqlPreview } from './PromqlPreview';
import { LABEL_WIDTH, ScopeFields } from './ScopeFields';

export type Props = QueryEditorProps<DataSource, InfermonQuery, InfermonOptions>;

const TYPE_OPTIONS: Array<{ label: string; value: QueryType; description: string }> = [
  { label: 'Metric', value: 'metric', description: 'An inference concept over time' },
  { label: 'SLO', value: 'slo', description: 'Attainment, error budget or burn rate of an SLO' },
  { label: 'Fleet table', value: 'fleet', description: 'One row per model with its key figures' },
  { label: 'PromQL', value: 'promql', description: 'Raw PromQL, passed through' },
];

const VIEW_OPTIONS: Array<{ label: string; value: SloView; description: string }> = [
  { label: 'Attainment', value: 'attainment', description: 'Share of good events over the SLO window' },
  { label: 'Budget remaining', value: 'budgetRemaining', description: '1 = untouched, 0 = spent' },
  { label: 'Burn rate', value: 'burnRate', description: 'Error ratio over the burn window ÷ error budget' },
];

const OBJECTIVES = [0.9, 0.95, 0.99, 0.995, 0.999];

const STAT_LABELS: Record<string, string> = {
  avg: 'avg',
  rate: 'rate',
  ratio: 'ratio',
  current: 'current',
  max: 'max',
  min: 'min',
  growth: 'growth (deriv)',
};

export function formatSeconds(v: number): string {
  return v < 1 ? `${Number((v * 1000).toPrecision(6))} ms` : `${v} s`;
}

function useBackendLists(datasource: DataSource) {
  const [concepts, setConcepts] = useState<CatalogConcept[]>([]);
  const [catalogError, setCatalogError] = useState<string>();
  const [models, setModels] = useState<ModelInfo[]>([]);
  useEffect(() => {
    let live = true;
    datasource
      .getCatalog()
      .then((c) => live && setConcepts(c.concepts))
      .catch((e) => live && setCatalogError(errorMessage(e)));
    datasource
      .getModels()
      .then((m) => live && setModels(m))
      .catch(() => live && setModels([]));
    return () => {
      live = false;
    };
  }, [datasource]);
  return { concepts: concepts.length ? concepts : FALLBACK_CONCEPTS, catalogError, models };
}

function conceptOptions(concepts: CatalogConcept[], onlySlo: boolean): Array<ComboboxOption<string>> {
  return concepts
    .filter((c) => !onlySlo || c.slo)
    .map((c) => ({
      value: c.id,
      label: c.label,
      group: c.group,
      description: `${c.description}${c.unit ? ` (${c.unit})` : ''}`,
    }));
}

/** Backends the query covers: the chosen one, else those that serve the selected models (all when unknown). */
function coveredBackends(query: InfermonQuery, models: ModelInfo[]): string[] | undefined {
  if (query.backend && query.backend !== 'auto') {
    return [query.backend];
  }
  const selected = (query.models ?? []).filter((m) => !m.startsWith('$'));
  const relevant = selected.length ? models.filter((m) => selected.includes(m.model)) : models;
  const backends = Array.from(new Set(relevant.map((m) => m.backend).filter(Boolean)));
  return backends.length ? backends : undefined;
}

/** Threshold choices: bucket boundaries shared by every covered backend that has a histogram for the concept. */
export function thresholdChoices(concept: CatalogConcept | undefined, covered: string[] | undefined): number[] {
  if (!concept) {
    return [];
  }
  const sets = Object.entries(concept.backends)
    .filter(([b, s]) => (!covered || covered.includes(b)) && s.support !== 'unsupported' && s.buckets?.length)
    .map(([, s]) => s.buckets!);
  if (!sets.length) {
    return [];
  }
  return sets.reduce((acc, s) => acc.filter((v) => s.includes(v))).sort((a, b) => a - b);
}

export function QueryEditor({ query, onChange, onRunQuery, datasource }: Props) {
  const { concepts, catalogError, models } = useBackendLists(datasource);
  const variables = useMemo(
    () =>
      getTemplateSrv()
        .getVariables()
        .map((v) => `$${v.name}`),
    []
  );
  const queryType: QueryType = query.queryType ?? 'metric';

  const change = (q: InfermonQuery, run = true) => {
    onChange(q);
    if (run) {
      onRunQuery();
    }
  };
  const set = (patch: Partial<InfermonQuery>, run = true) => change({ ...query, ...patch }, run);
  const blurRun = () => onRunQuery();

  const conceptId = queryType === 'slo' ? query.sli : query.concept;
  const concept = concepts.find((c) => c.id === conceptId);
  const unsupported = concept ? Object.entries(concept.backends).filter(([, s]) => s.support !== 'exact') : [];

  return (
    <div>
      <InlineFieldRow>
        <InlineField label="Query type" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<QueryType>
            options={TYPE_OPTIONS}
            value={queryType}
            onChange={(t) => change(switchQueryType({ ...query, queryType }, t))}
          />
        </InlineField>
      </InlineFieldRow>

      {catalogError && (
        <Alert severity="info" title="Concept catalog unavailable">
          {`Using the built-in concept list: ${catalogError}`}
        </Alert>
      )}

      {(queryType === 'metric' || queryType === 'slo') && (
        <InlineFieldRow>
          <InlineField
            label={queryType === 'slo' ? 'SLI' : 'Concept'}
            htmlFor="infermon-concept"
            labelWidth={LABEL_WIDTH}
            tooltip={concept ? `${concept.description} Unit: ${concept.unit}.` : 'What to measure'}
          >
            <Combobox<string>
              id="infermon-concept"
              width={36}
              options={conceptOptions(concepts, queryType === 'slo')}
              value={conceptId ?? null}
              onChange={(o) => {
                if (queryType === 'slo') {
                  const patch: Partial<InfermonQuery> = { sli: o.value };
                  if (o.value === 'error_ratio') {
                    patch.threshold = undefined;
                    patch.interpolate = undefined;
                  }
                  set(patch);
                } else {
                  const next = concepts.find((c) => c.id === o.value);
                  const stats = next ? statsOf(next) : [];
                  // keep the statistic when it still applies, else let the backend pick the concept's default
                  set({ concept: o.value, stat: query.stat && stats.includes(query.stat) ? query.stat : stats[0] });
                }
              }}
            />
          </InlineField>
          {concept && (
            <InlineField label="Unit" labelWidth={6}>
              <Input aria-label="Unit" width={12} value={concept.unit} readOnly />
            </InlineField>
          )}
        </InlineFieldRow>
      )}
      {concept && concept.description && (queryType === 'metric' || queryType === 'slo') && (
        <div style={{ margin: '0 0 8px 4px', fontSize: 12, opacity: 0.8 }} data-testid="infermon-concept-description">
          {concept.description}
          {unsupported.map(([b, s]) => (
            <div key={b}>{`${b}: ${s.support}${s.note ? ` — ${s.note}` : ''}`}</div>
          ))}
        </div>
      )}

      {queryType === 'metric' && <MetricFields query={query} concept={concept} set={set} blurRun={blurRun} />}
      {queryType === 'slo' && (
        <SloFields
          query={query}
          concept={concept}
          thresholds={thresholdChoices(concept, coveredBackends(query, models))}
          set={set}
          blurRun={blurRun}
        />
      )}
      {queryType === 'promql' && (
        <>
          <InlineFieldRow>
            <InlineField label="Expression" labelWidth={LABEL_WIDTH} grow>
              <TextArea
                id="infermon-expr"
                aria-label="PromQL expression"
                rows={3}
                placeholder="sum by (model_name) (rate(vllm:generation_tokens_total[5m]))"
                value={query.expr ?? ''}
                onChange={(e) => set({ expr: e.currentTarget.value }, false)}
                onBlur={blurRun}
              />
            </InlineField>
          </InlineFieldRow>
          <LegendField query={query} set={set} blurRun={blurRun} />
        </>
      )}

      {queryType !== 'promql' && (
        <ScopeFields query={query} models={models} variables={variables} onChange={(q, run) => change(q, run)} />
      )}

      {(queryType === 'metric' || queryType === 'slo') && (
        <InlineFieldRow>
          <InlineField
            label="Group by"
            labelWidth={LABEL_WIDTH}
            tooltip="Output labels (press Enter after each); model by default. Remove them all for one fleet-wide series."
          >
            <TagsInput
              id="infermon-group-by"
              placeholder="model"
              width={40}
              tags={query.groupBy ?? ['model']}
              onChange={(tags) => set({ groupBy: tags })}
            />
          </InlineField>
          <LegendField query={query} set={set} blurRun={blurRun} />
        </InlineFieldRow>
      )}

      <PromqlPreview datasource={datasource} query={{ ...query, queryType }} />
    </div>
  );
}

function statsOf(c: CatalogConcept): string[] {
  return c.stats.length ? c.stats : (STATS_BY_KIND[c.kind] ?? []);
}

interface FieldProps {
  query: InfermonQuery;
  set: (patch: Partial<InfermonQuery>, run?: boolean) => void;
  blurRun: () => void;
}

function LegendField({ query, set, blurRun }: FieldProps) {
  return (
    <InlineField label="Legend" labelWidth={10} tooltip="Template such as {{model}} p95; default: the group-by labels.">
      <Input
        id="infermon-legend"
        aria-label="Legend"
        width={30}
        placeholder="{{model}}"
        value={query.legend ?? ''}
        onChange={(e) => set({ legend: e.currentTarget.value || undefined }, false)}
        onBlur={blurRun}
      />
    </InlineField>
  );
}

function MetricFields({ query, concept, set, blurRun }: FieldProps & { concept?: CatalogConcept }) {
  const stats = concept ? statsOf(concept) : [];
  const options: Array<ComboboxOption<string>> = stats.map((s) => ({ value: s, label: STAT_LABELS[s] ?? s }));
  if (query.stat && !stats.includes(query.stat)) {
    options.push({ value: query.stat, label: query.stat });
  }
  return (
    <InlineFieldRow>
      <InlineField
        label="Statistic"
        htmlFor="infermon-stat"
        labelWidth={LABEL_WIDTH}
        tooltip="Quantiles (p50…p99, or type any pNN.N), avg, rate, ratio, current, max, min, growth. Empty: the concept's default."
      >
        <Combobox<string>
          id="infermon-stat"
          aria-label="Statistic"
          width={20}
          isClearable
          createCustomValue
          customValueDescription="Use this statistic"
          placeholder="default"
          options={options}
          value={query.stat ?? null}
          onChange={(o) => set({ stat: o?.value || undefined })}
        />
      </InlineField>
      <InlineField
        label="Rate window"
        labelWidth={14}
        tooltip="Override the rate window (e.g. 5m); default: automatic."
      >
        <Input
          id="infermon-window"
          aria-label="Rate window"
          width={10}
          placeholder="auto"
          value={query.window ?? ''}
          onChange={(e) => set({ window: e.currentTarget.value.trim() || undefined }, false)}
          onBlur={blurRun}
        />
      </InlineField>
    </InlineFieldRow>
  );
}

function SloFields({
  query,
  concept,
  thresholds,
  set,
  blurRun,
}: FieldProps & { concept?: CatalogConcept; thresholds: number[] }) {
  const isLatency = query.sli !== 'error_ratio';
  const sloNameInvalid = query.slo !== undefined && !sloNameOk(query.slo);
  const thresholdOptions: Array<ComboboxOption<string>> = thresholds.map((t) => ({
    value: String(t),
    label: formatSeconds(t),
  }));
  const offBoundary = query.threshold !== undefined && thresholds.length > 0 && !thresholds.includes(query.threshold);
  if (query.threshold !== undefined && !thresholds.includes(query.threshold)) {
    thresholdOptions.push({ value: String(query.threshold), label: formatSeconds(query.threshold) });
  }
  const objectiveOptions: Array<ComboboxOption<string>> = OBJECTIVES.map((o) => ({
    value: String(o),
    label: `${Number((o * 100).toPrecision(6))}%`,
  }));
  if (query.objective !== undefined && !OBJECTIVES.includes(query.objective)) {
    objectiveOptions.push({
      value: String(query.objective),
      label: `${Number((query.objective * 100).toPrecision(6))}%`,
    });
  }
  return (
    <>
      <InlineFieldRow>
        {isLatency && (
          <InlineField
            label="Threshold"
            htmlFor="infermon-threshold"
            labelWidth={LABEL_WIDTH}
            tooltip="Good = faster than this. Only histogram bucket boundaries measure exactly; the list shows those shared by the covered backends."
            invalid={offBoundary && !query.interpolate}
            error={
              offBoundary && !query.interpolate ? 'Not a bucket boundary: choose one or allow interpolation' : undefined
            }
          >
            <Combobox<string>
              id="infermon-threshold"
              width={20}
              createCustomValue
              customValueDescription="Seconds (needs interpolation if not a boundary)"
              placeholder={concept ? 'choose' : 'seconds'}
              options={thresholdOptions}
              value={query.threshold !== undefined ? String(query.threshold) : null}
              onChange={(o) => {
                const v = Number(o.value);
                if (Number.isFinite(v) && v > 0) {
                  set({ threshold: v });
                }
              }}
            />
          </InlineField>
        )}
        {isLatency && (
          <InlineField
            label="Interpolate"
            labelWidth={12}
            tooltip="Allow a threshold between bucket boundaries; the result is then approximate."
          >
            <InlineSwitch
              id="infermon-interpolate"
              aria-label="Interpolate"
              value={query.interpolate ?? false}
              onChange={(e) => set({ interpolate: e.currentTarget.checked || undefined })}
            />
          </InlineField>
        )}
        <InlineField
          label="Objective"
          htmlFor="infermon-objective"
          labelWidth={12}
          tooltip="Target share of good events, e.g. 99%."
        >
          <Combobox<string>
            id="infermon-objective"
            width={14}
            createCustomValue
            customValueDescription="A fraction in (0, 1), e.g. 0.975"
            options={objectiveOptions}
            value={query.objective !== undefined ? String(query.objective) : null}
            onChange={(o) => {
              const v = Number(o.value);
              if (v > 0 && v < 1) {
                set({ objective: v });
              }
            }}
          />
        </InlineField>
        <InlineField label="Window" labelWidth={10} tooltip="SLO window, e.g. 30d (needs that much retention).">
          <Input
            id="infermon-slo-window"
            aria-label="SLO window"
            width={10}
            placeholder="30d"
            value={query.window ?? ''}
            onChange={(e) => set({ window: e.currentTarget.value.trim() || undefined }, false)}
            onBlur={blurRun}
          />
        </InlineField>
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField label="View" labelWidth={LABEL_WIDTH}>
          <RadioButtonGroup<SloView>
            options={VIEW_OPTIONS}
            value={query.view}
            onChange={(view) => set({ view, burnWindow: view === 'burnRate' ? (query.burnWindow ?? '1h') : undefined })}
          />
        </InlineField>
        {query.view === 'burnRate' && (
          <InlineField label="Burn window" labelWidth={14} tooltip="Window of the burn rate, e.g. 1h or 5m.">
            <Input
              id="infermon-burn-window"
              aria-label="Burn window"
              width={10}
              placeholder="1h"
              value={query.burnWindow ?? ''}
              onChange={(e) => set({ burnWindow: e.currentTarget.value.trim() || undefined }, false)}
              onBlur={blurRun}
            />
          </InlineField>
        )}
      </InlineFieldRow>
      <InlineFieldRow>
        <InlineField
          label="SLO name"
          htmlFor="infermon-slo-name"
          labelWidth={LABEL_WIDTH}
          tooltip="The SLO's name in infermon's rules spec (slo.yaml), e.g. ttft-500ms. With the recording rules loaded, its recorded error ratios answer the query (group by namespace and model); the fields above must match the spec's SLO. Empty: computed from raw series."
          invalid={sloNameInvalid}
          error={sloNameInvalid ? 'Lowercase letters, digits and dashes, e.g. ttft-500ms' : undefined}
        >
          <Input
            id="infermon-slo-name"
            aria-label="SLO name"
            width={20}
            placeholder="optional"
            value={query.slo ?? ''}
            onChange={(e) => set({ slo: e.currentTarget.value.trim() || undefined }, false)}
            onBlur={blurRun}
          />
        </InlineField>
      </InlineFieldRow>
    </>
  );
}
