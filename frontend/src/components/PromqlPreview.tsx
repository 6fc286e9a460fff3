/**
 * Live preview of the PromQL the backend runs for the current query (POST `/translate`), copyable, with the
 * backend's notices — in particular the approximation notice when a backend only approximates a concept.
 */
import React, { useEffect, useState } from 'react';
import { Alert, ClipboardButton, Stack, Text, useStyles2 } from '@grafana/ui';
import { GrafanaTheme2 } from '@grafana/data';
import { css } from '@emotion/css';

import type { DataSource } from '../datasource';
import { InfermonQuery } from '../query/types';
import { problems } from '../query/validate';
import { Translation, errorMessage } from '../resources';

export const PREVIEW_DEBOUNCE_MS = 300;

interface Props {
  datasource: DataSource;
  query: InfermonQuery;
}

type Result = { status: 'done'; t: Translation } | { status: 'error'; message: string };

export function PromqlPreview({ datasource, query }: Props) {
  const styles = useStyles2(getStyles);
  // the answer for one serialised query; anything else on screen is "loading"
  const [answer, setAnswer] = useState<{ key: string; result: Result }>();
  const issues = problems(query);
  const key = JSON.stringify(query);

  useEffect(() => {
    if (issues.length) {
      return;
    }
    let cancelled = false;
    const timer = setTimeout(() => {
      datasource
        .translate(query)
        .then((t) => !cancelled && setAnswer({ key, result: { status: 'done', t } }))
        .catch((e) => !cancelled && setAnswer({ key, result: { status: 'error', message: errorMessage(e) } }));
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // the serialised query is the dependency: a new object with the same content must not refetch
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, issues.length, datasource]);

  const state: Result | { status: 'loading' } | { status: 'idle' } = issues.length
    ? { status: 'idle' }
    : answer?.key === key
      ? answer.result
      : { status: 'loading' };

  return (
    <div className={styles.box} data-testid="infermon-preview">
      <Text variant="bodySmall" weight="medium">
        PromQL preview
      </Text>
      {issues.length > 0 && (
        <ul className={styles.issues} aria-label="Incomplete query">
          {issues.map((p) => (
            <li key={p}>
              <Text variant="bodySmall" color="secondary">
                {p}
              </Text>
            </li>
          ))}
        </ul>
      )}
      {state.status === 'loading' && (
        <Text variant="bodySmall" color="secondary">
          Translating…
        </Text>
      )}
      {state.status === 'error' && (
        <Alert severity="error" title="The backend rejected this query">
          {state.message}
        </Alert>
      )}
      {state.status === 'done' && (
        <Stack direction="column" gap={1}>
          {state.t.queries.length === 0 && (
            <Text variant="bodySmall" color="secondary">
              Nothing on the engine can answer this query (see the notes below).
            </Text>
          )}
          {state.t.queries.map((q, i) => (
            <Stack key={i} direction="row" gap={1} alignItems="flex-start">
              {state.t.queries.length > 1 && q.key && (
                <span className={styles.key}>
                  <Text variant="bodySmall" color="secondary">
                    {q.key}
                  </Text>
                </span>
              )}
              <pre className={styles.expr} aria-label={`PromQL ${i + 1}`}>
                {q.expr}
              </pre>
              <ClipboardButton size="sm" variant="secondary" icon="copy" getText={() => q.expr}>
                Copy
              </ClipboardButton>
            </Stack>
          ))}
          {state.t.notices.map((n, i) => (
            <Alert
              key={i}
              severity={n.severity}
              title={state.t.approximate && /approximat/i.test(n.text) ? 'Approximation' : 'Note'}
            >
              {n.text}
            </Alert>
          ))}
          {state.t.approximate && !state.t.notices.some((n) => /approximat/i.test(n.text)) && (
            <Alert severity="warning" title="Approximation">
              A backend in this query only approximates this concept; values are indicative.
            </Alert>
          )}
        </Stack>
      )}
    </div>
  );
}

const getStyles = (theme: GrafanaTheme2) => ({
  box: css({
    marginTop: theme.spacing(1),
    padding: theme.spacing(1),
    border: `1px solid ${theme.colors.border.weak}`,
    borderRadius: theme.shape.radius.default,
    background: theme.colors.background.secondary,
  }),
  expr: css({
    flex: 1,
    margin: 0,
    padding: theme.spacing(1),
    whiteSpace: 'pre-wrap',
    wordBreak: 'break-all',
    fontFamily: theme.typography.fontFamilyMonospace,
    fontSize: theme.typography.bodySmall.fontSize,
  }),
  issues: css({ margin: theme.spacing(0.5, 0, 0, 2) }),
  key: css({ minWidth: theme.spacing(22), paddingTop: theme.spacing(1) }),
});
