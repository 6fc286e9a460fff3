/**
 * The Inference data source: Grafana's DataSourceWithBackend plus what the editors need from the backend.
 *
 * Queries run through the backend (`gpx_infermon`), which translates them into PromQL; this class only
 * interpolates template variables into every field, drops incomplete queries, and wraps the backend resources
 * `/catalog`, `/models` and `/translate` (shapes in src/resources.ts and frontend/README.md).
 */
import { CoreApp, DataSourceInstanceSettings, MetricFindValue, ScopedVars } from '@grafana/data';
import { DataSourceWithBackend, getTemplateSrv } from '@grafana/runtime';

import { DEFAULT_QUERY } from './query/defaults';
import { ALL_VALUES, interpolateList, interpolateQuery } from './query/interpolate';
import { InfermonQuery } from './query/types';
import { isComplete } from './query/validate';
import { Catalog, ModelInfo, Translation, parseCatalog, parseModels, parseTranslation } from './resources';
import { InfermonOptions } from './settings/types';
import { VariableQuery, parseVariableQuery } from './query/variable';
import { InfermonVariableSupport } from './variables';

export class DataSource extends DataSourceWithBackend<InfermonQuery, InfermonOptions> {
  private catalog?: Promise<Catalog>;

  constructor(instanceSettings: DataSourceInstanceSettings<InfermonOptions>) {
    super(instanceSettings);
    this.variables = new InfermonVariableSupport(this);
  }

  getDefaultQuery(_: CoreApp): Partial<InfermonQuery> {
    return DEFAULT_QUERY;
  }

  applyTemplateVariables(query: InfermonQuery, scopedVars: ScopedVars): InfermonQuery {
    const templateSrv = getTemplateSrv();
    return interpolateQuery(query, (t, sv, f) => templateSrv.replace(t, sv, f), scopedVars);
  }

  filterQuery(query: InfermonQuery): boolean {
    return !query.hide && isComplete(query);
  }

  /** The concept catalog; fetched once per data-source instance (a failed fetch is retried next time). */
  getCatalog(): Promise<Catalog> {
    if (!this.catalog) {
      this.catalog = this.getResource('catalog').then(parseCatalog);
      this.catalog.catch(() => (this.catalog = undefined));
    }
    return this.catalog;
  }

  /**
   * Models seen by the engine, optionally restricted to namespaces. `namespace` may be a template variable, also a
   * multi-value one (`$namespace` = {prod, staging}) or "All", which means no restriction.
   */
  async getModels(namespace?: string): Promise<ModelInfo[]> {
    const templateSrv = getTemplateSrv();
    const list = namespace ? interpolateList([namespace], (t, sv, f) => templateSrv.replace(t, sv, f)) : [];
    const namespaces = list.some((n) => ALL_VALUES.has(n)) ? [] : list;
    // one namespace: let the backend filter; several: fetch all and filter here (also covers a backend that
    // ignores the parameter)
    const params = namespaces.length === 1 ? { namespace: namespaces[0] } : undefined;
    const models = parseModels(await this.getResource('models', params));
    return namespaces.length
      ? models.filter((m) => m.namespace !== undefined && namespaces.includes(m.namespace))
      : models;
  }

  /** The PromQL the backend runs for this query (after variable interpolation), for the editor's preview. */
  async translate(query: InfermonQuery, scopedVars: ScopedVars = {}): Promise<Translation> {
    const { datasource: _ds, ...body } = this.applyTemplateVariables(query, scopedVars);
    return parseTranslation(await this.postResource('translate', body));
  }

  /** Variable values: `models`, `namespaces`, or `models(<namespace>)`, as a string or a variable query object. */
  async metricFindQuery(query: string | VariableQuery): Promise<MetricFindValue[]> {
    const q = parseVariableQuery(query);
    const models = await this.getModels(q.namespace);
    const values =
      q.type === 'namespaces'
        ? models.map((m) => m.namespace).filter((n): n is string => Boolean(n))
        : models.filter((m) => !q.backend || q.backend === 'auto' || m.backend === q.backend).map((m) => m.model);
    return Array.from(new Set(values))
      .sort()
      .map((text) => ({ text, value: text }));
  }
}
