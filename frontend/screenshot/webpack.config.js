// Bundles the screenshot harness (entry.tsx) with everything included (no Grafana externals): a plain page.
const path = require('path');

module.exports = {
  mode: 'development',
  devtool: false,
  entry: path.resolve(__dirname, 'entry.tsx'),
  output: {
    path: process.env.SHOT_OUT || path.resolve(__dirname, '../node_modules/.screenshot'),
    filename: 'bundle.js',
  },
  resolve: { extensions: ['.js', '.jsx', '.ts', '.tsx', '.mjs'] },
  module: {
    rules: [
      {
        test: /\.[tj]sx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'swc-loader',
          options: {
            jsc: {
              parser: { syntax: 'typescript', tsx: true },
              target: 'es2020',
              transform: { react: { runtime: 'automatic' } },
            },
          },
        },
      },
      { test: /\.m?js$/, resolve: { fullySpecified: false } },
      { test: /\.css$/, use: ['style-loader', 'css-loader'] },
      { test: /\.(svg|png|woff2?|ttf|eot)$/, type: 'asset/inline' },
    ],
  },
  performance: { hints: false },
  stats: 'errors-only',
};
