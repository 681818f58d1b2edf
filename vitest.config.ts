import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // mount tracefs before any test file looks at it
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Kernel tests share one tracefs: files run one after another.
    fileParallelism: false,
  },
});
