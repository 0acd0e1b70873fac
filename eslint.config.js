// Lint: typescript-eslint's recommended rules plus the house rules that a
// reviewer would otherwise have to remember (docs/style: no Math.random, no
// empty catch, the orchestrator never imports the peer's runtime code).
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'runs/**', 'test/fixtures/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the seeded rng (node/contract/rng.ts).' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error'
    }
  },
  {
    files: ['orchestrator/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '^\\.\\./(\\.\\./)*node/(?!contract/)', message: 'The orchestrator imports only node/contract/ (the event contract and configuration), never the peer runtime.' }] }]
    }
  },
  {
    // The flow is commands -> {network, storm, scenario, analysis, run, logs} -> runtime: only the CLI imports commands.
    files: ['orchestrator/**/*.ts'],
    ignores: ['orchestrator/cli.ts', 'orchestrator/commands/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { regex: '^\\.\\./(\\.\\./)*node/(?!contract/)', message: 'The orchestrator imports only node/contract/ (the event contract and configuration), never the peer runtime.' },
        { regex: '(^|/)commands/', message: 'Only orchestrator/cli.ts imports commands/: the flow is commands -> {network, storm, scenario, analysis} -> runtime.' }
      ] }]
    }
  }
)
