import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import postcss from "postcss";
import { describe, expect, it } from "vitest";

// `npm run dev` printed "Expected identifier but found ':'" warnings: Tailwind 4 writes CSS nesting that the
// classic compiler's own esbuild (0.17) cannot parse. Run the stylesheet through our PostCSS config as a
// development build does, then through that exact esbuild, and expect no warning.
const require = createRequire(path.resolve("node_modules/@remix-run/dev/package.json"));
const esbuild = require("esbuild") as typeof import("esbuild");

async function buildCss(nodeEnv: string) {
  const env = process.env as Record<string, string | undefined>;
  const previous = env.NODE_ENV;
  env.NODE_ENV = nodeEnv;
  try {
    const configUrl = new URL(`../../postcss.config.js?env=${nodeEnv}`, import.meta.url).href;
    const { default: config } = (await import(/* @vite-ignore */ configUrl)) as {
      default: { plugins: Record<string, object> };
    };
    const plugins = await Promise.all(
      Object.entries(config.plugins).map(async ([name, options]) => {
        const plugin = ((await import(name)) as { default: (options: object) => postcss.AcceptedPlugin }).default;
        return plugin(options);
      }),
    );
    const from = path.resolve("app/styles/tailwind.css");
    return (await postcss(plugins).process(await readFile(from, "utf8"), { from })).css;
  } finally {
    env.NODE_ENV = previous;
  }
}

describe("the stylesheet as the classic compiler sees it", () => {
  for (const nodeEnv of ["development", "production"]) {
    it(`parses without warnings in ${nodeEnv}`, async () => {
      const css = await buildCss(nodeEnv);
      expect(esbuild.version).toBe("0.17.6");
      const result = await esbuild.transform(css, { loader: "css" });
      expect(result.warnings.map((warning) => warning.text)).toEqual([]);
      expect(css).toContain(".sr-only");
    });
  }
});
