import { DataSourcePlugin } from '@grafana/data';

import { ConfigEditor } from './components/ConfigEditor';
import { InfermonOptions, InfermonSecureOptions } from './settings/types';
import { DataSource } from './datasource';
import { QueryEditor } from './components/QueryEditor';
import { InfermonQuery } from './query/types';

export const plugin = new DataSourcePlugin<DataSource, InfermonQuery, InfermonOptions, InfermonSecureOptions>(
  DataSource
)
  .setConfigEditor(ConfigEditor)
  .setQueryEditor(QueryEditor);
