/**
 * Template-variable support: Grafana's custom variable support with the infermon variable editor, answering from
 * the data source's `metricFindQuery` (queries: src/query/variable.ts). It needs only that one method of the data
 * source, so it does not import the class that constructs it.
 */
import {
  CustomVariableSupport,
  DataQueryRequest,
  DataQueryResponse,
  DataSourceApi,
  MetricFindValue,
} from '@grafana/data';
import { Observable, from, map } from 'rxjs';

import { VariableQueryEditor } from './components/VariableQueryEditor';
import { InfermonQuery } from './query/types';
import { VariableQuery } from './query/variable';
import { InfermonOptions } from './settings/types';

/** What the variable support uses of the data source. */
export interface VariableValues {
  metricFindQuery(query: VariableQuery): Promise<MetricFindValue[]>;
}

export class InfermonVariableSupport extends CustomVariableSupport<
  DataSourceApi<InfermonQuery, InfermonOptions>,
  VariableQuery
> {
  editor = VariableQueryEditor;

  constructor(private readonly source: VariableValues) {
    super();
  }

  query(request: DataQueryRequest<VariableQuery>): Observable<DataQueryResponse> {
    return from(this.source.metricFindQuery(request.targets[0])).pipe(map((data) => ({ data })));
  }
}
