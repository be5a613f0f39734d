// Lint: TypeScript-aware recommended rules; formatting is prettier's job.
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const globals = require('globals');

module.exports = tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.tools/', '.data/', 'out/', 'coverage/', 'bench/**/*.py'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  { files: ['**/*.js'], languageOptions: { globals: globals.node, sourceType: 'commonjs' } },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      // Workflow code must stay deterministic and bundle-safe: no Node built-ins or I/O libraries.
      'no-restricted-imports': [
        'error',
        { patterns: ['node:*', 'fs', 'sharp', 'onnxruntime-node', 'typeorm', 'mysql2', '@aws-sdk/*', 'koa'] },
      ],
    },
  },
);
