// force timezone to UTC to allow tests to work regardless of local timezone
process.env.TZ = 'UTC';

const base = require('./.config/jest.config');
// d3-color (pulled in by @grafana/data) ships `.mjs` as its main entry; the scaffold only
// transforms .(t|j)sx?, so reuse the same swc transform for .mjs (see grafana-plugin.md §4.3).
const swc = base.transform['^.+\\.(t|j)sx?$'];

module.exports = {
  ...base,
  transform: { '^.+\\.(t|j)sx?$': swc, '^.+\\.mjs$': swc },
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  // Editor tests drive real @grafana/ui components through many interactions; on a shared 2-core machine under
  // load one test can take tens of seconds.
  testTimeout: 60000,
};
