// One mocha run for every tier: unit (no services), integration and end-to-end (real Temporal, S3, MariaDB, SQLite).
// test/support/globalSetup.ts starts the services the run needs on free ports, once.
process.env.TS_NODE_TRANSPILE_ONLY ??= 'true';
process.env.TS_NODE_FILES ??= 'true';
module.exports = {
  require: ['ts-node/register', 'reflect-metadata', 'test/support/globalSetup.ts'],
  extension: ['ts'],
  spec: process.env.MOCHA_SPEC ? process.env.MOCHA_SPEC.split(',') : ['test/**/*.test.ts'],
  timeout: 30000,
  exit: true,
};
