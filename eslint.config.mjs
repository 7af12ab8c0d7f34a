// ESLint flat config. The `no-restricted-imports` blocks below enforce the layer
// direction: http/ signaling/ moderation/ livestream/ → conference/ → sip/ media/ storage/ → util/ protocol/.
// workers/ (mixer threads) import only workers/; web/ imports only src/protocol/ of the server.
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
  layer(['src/sip/**'], ['**/conference/**', '**/media/**', '**/storage/**', '**/http/**', '**/signaling/**', '**/moderation/**', '**/livestream/**', 'mediasoup', 'mediasoup/*'],
    'src/sip knows nothing about rooms or media (layer rule)'),
  layer(['src/media/**'], ['**/conference/**', '**/sip/**', '**/storage/**', '**/http/**', '**/signaling/**', '**/moderation/**', '**/livestream/**'],
    'src/media knows nothing about SIP or rooms (layer rule)'),
  layer(['src/storage/**'], ['**/conference/**', '**/sip/**', '**/media/**', '**/http/**', '**/signaling/**', '**/moderation/**', '**/livestream/**'],
    'src/storage knows nothing about SIP, media or rooms (layer rule)'),
  layer(['src/conference/**'], ['**/http/**', '**/signaling/**', '**/moderation/**', '**/livestream/**'],
    'conference is below http/signaling/moderation/livestream (layer rule)'),
  layer(['src/livestream/**'], ['**/http/**', '**/signaling/**', '**/moderation/**'],
    'livestream uses conference and media; the channels (REST, dashboard) use it, never the other way (layer rule)'),
  layer(['src/util/**', 'src/errors/**', 'src/logging/**', 'src/config/**'],
    ['**/sip/**', '**/media/**', '**/storage/**', '**/conference/**', '**/http/**', '**/signaling/**', '**/moderation/**', '**/livestream/**'],
    'util/errors/logging/config are the bottom layer (layer rule)'),
  layer(['src/protocol/**'], ['**/src/**', '../**', 'mediasoup', 'express', 'socket.io', 'pino'],
    'src/protocol is shared with the pages: zod and its own files only (layer rule)'),
  layer(['web/**'], ['**/src/conference/**', '**/src/sip/**', '**/src/media/**', '**/src/storage/**', '**/src/http/**',
    '**/src/signaling/**', '**/src/util/**', '**/src/errors/**', '**/src/config/**', '**/workers/**', 'mediasoup',
    'express', 'socket.io', 'pino'],
    'web/ shares only src/protocol with the server (layer rule)'),
  // The pages render caller-supplied text (names, chat) as text only, and run under a CSP without 'unsafe-inline'.
  {
    files: ['web/**/*.ts', 'web/**/*.tsx'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'render text, never HTML (web/)' },
        { selector: 'MemberExpression[property.name=/^(innerHTML|outerHTML)$/]', message: 'render text, never HTML (web/)' },
        { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: 'render text, never HTML (web/)' },
        { selector: "JSXAttribute[name.name='style']", message: "the CSP has no 'unsafe-inline' for styles: use a class" },
      ],
    },
  },
  layer(['workers/**'], ['**/src/**', 'mediasoup', 'express', 'socket.io'],
    'workers/ imports only workers/ (layer rule)'),
);
