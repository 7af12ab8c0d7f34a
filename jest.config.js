/** Three projects: unit (pure, fast, fake clocks), integration (real sockets and the real mediasoup worker on
 *  loopback), e2e (real SIP peers: SIPp, baresip). Integration and e2e files raise their own timeouts. */
const tsJest = ['ts-jest', { tsconfig: 'tsconfig.json' }];
const common = { testEnvironment: 'node', transform: { '^.+\\.ts$': tsJest }, moduleFileExtensions: ['ts', 'js', 'json'] };
module.exports = {
  testTimeout: 120000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
