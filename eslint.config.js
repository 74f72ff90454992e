import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/*
 * The architecture, held by lint: features → identity → platform, nothing sideways or upward.
 * For a file `depth` folders below src/, a relative import that climbs `depth` times has left for
 * another layer (or the top: context.ts, compose.ts…), one that climbs `depth - 1` times and enters
 * a folder has left a feature for another feature.
 */
const LAYERS = [
  {
    layer: 'platform',
    allowed: ['platform/'],
    message: 'platform/ is plumbing: it imports nothing from identity/, features/ or the top of src/.',
  },
  {
    layer: 'identity',
    allowed: ['identity/', 'platform/'],
    message: 'identity/ imports only identity/ and platform/ (never a feature, never context.ts).',
  },
  {
    layer: 'features',
    allowed: ['identity/', 'platform/', 'context\\.ts$'],
    message: 'A feature imports identity/, platform/ and the type in context.ts only.',
  },
]
const MAX_DEPTH = 5
const architecture = LAYERS.flatMap(({ layer, allowed, message }) =>
  Array.from({ length: MAX_DEPTH }, (_, index) => {
    const depth = index + 1
    const climb = (times) => `^(?:\\.\\./){${times}}`
    const patterns = [{ regex: `${climb(depth)}(?!${allowed.join('|')})`, message }]
    if (layer === 'features' && depth >= 2) {
      patterns.push({
        regex: `${climb(depth - 1)}(?!\\.\\./)`,
        message: 'A feature never imports another feature: move what both need to identity/ or platform/.',
      })
    }
    return {
      files: [`src/${layer}/${'*/'.repeat(depth - 1)}*.ts`],
      rules: { 'no-restricted-imports': ['error', { patterns }] },
    }
  }),
)

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'bench/results/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-floating-promises': 'error',
      // Fastify plugins and handlers are async by contract even when they await nothing.
      '@typescript-eslint/require-await': 'off',
      // node:test's describe/it return promises that the runner awaits itself.
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  ...architecture,
  {
    files: ['test/**/*.ts'],
    // Tests read response bodies as untyped JSON on purpose: the contract, not our types, is under test.
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
)
