// ESLint flat config. The `no-restricted-imports` blocks below enforce the layer
// direction: http/ moderation/ livestream/ → conference/ → sip/ media/ → util/.
// workers/ (mixer threads) import only workers/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, why) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      { patterns: forbidden.map((group) => ({ group: [group], message: why })) },
    ],
  },
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'web/**/vendor/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': ['error', { allow: ['error'] }],
    },
  },
  { files: ['test/**', 'bench/**', 'scripts/**'], rules: { 'no-console': 'off' } },
  layer(['src/sip/**'], ['**/conference/**', '**/media/**', '**/http/**', '**/moderation/**', '**/livestream/**', 'mediasoup', 'mediasoup/*'],
    'src/sip knows nothing about rooms or media (layer rule)'),
  layer(['src/media/**'], ['**/conference/**', '**/sip/**', '**/http/**', '**/moderation/**', '**/livestream/**'],
    'src/media knows nothing about SIP or rooms (layer rule)'),
  layer(['src/conference/**'], ['**/http/**', '**/moderation/**', '**/livestream/**'],
    'conference is below http/moderation/livestream (layer rule)'),
  layer(['src/util/**', 'src/errors/**', 'src/logging/**', 'src/config/**'],
    ['**/sip/**', '**/media/**', '**/conference/**', '**/http/**', '**/moderation/**', '**/livestream/**'],
    'util/errors/logging/config are the bottom layer (layer rule)'),
  layer(['workers/**'], ['**/src/**', 'mediasoup', 'express', 'socket.io'],
    'workers/ imports only workers/ (layer rule)'),
);
