/** @type {import('jest').Config} */
module.exports = {
    testEnvironment: "node",
    roots: ["<rootDir>/tests"],
    testMatch: ["**/*.test.ts"],
    // Type checking is done once by `tsc --noEmit` in `npm test`; jest only transpiles.
    transform: { "^.+\\.ts$": "ts-jest" },
    testTimeout: 60000,
};
