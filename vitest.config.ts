import path from "node:path";
import { defineConfig } from "vitest/config";

const alias = ["app", "providers", "emails", "tests"].map((folder) => ({
  find: new RegExp(`^#${folder}/(.*)$`),
  replacement: path.resolve(folder) + "/$1",
}));

export default defineConfig({
  resolve: { alias },
  test: {
    globalSetup: ["tests/setup/global-setup.ts"],
    env: { NODE_ENV: "test", LOG_LEVEL: "silent" },
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: "integration",
          include: ["tests/**/*.test.{ts,tsx}", "app/**/*.test.{ts,tsx}", "providers/**/*.test.ts"],
          setupFiles: ["tests/setup/database.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "browser",
          include: ["tests/browser/**/*.e2e.ts"],
          setupFiles: ["tests/setup/database.ts"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
