import { z } from "zod";
import { parseAmount } from "./money";
import { parseTrustProxy } from "./proxy-trust.server";

function micros(text: string, currency: string): bigint {
  const parsed = parseAmount(text, currency);
  return parsed.ok ? parsed.micros : 0n;
}

const openaiCompatibleSchema = z.array(
  z.object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, "ids are lowercase letters, digits, - and _"),
    label: z.string().min(1),
    baseURL: z.url({ protocol: /^https?$/ }),
    apiKey: z.string().optional(),
    models: z.array(z.string().min(1)).default([]),
  }),
);

// Every environment variable the server reads, validated once at start-up.
// Nothing is required in development; production refuses to start with a readable list of what is missing.
const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    APP_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    DATABASE_URL: optionalString,
    /**
     * Proxies in front of the app whose X-Forwarded-For/-Proto/-Host entries are believed: a hop count
     * ("1": one load balancer) or a comma list of addresses, CIDR ranges and the names loopback, linklocal,
     * uniquelocal. Empty/false: none (clients connect directly). "true" is refused: it trusted the
     * left-most X-Forwarded-For, which the client writes (docs/decisions/0013-proxy-trust.md).
     */
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((text, ctx) => {
        const parsed = parseTrustProxy(text);
        if (parsed.ok) return parsed.value;
        ctx.addIssue({ code: "custom", message: parsed.error });
        return z.NEVER;
      }),
    /** Run pg-boss workers (hold expiry, retention) in this process; turn off on web-only instances. */
    BACKGROUND_JOBS: z
      .enum(["on", "off", "true", "false", "1", "0", ""])
      .optional()
      .transform((value) => value === undefined || value === "" || value === "on" || value === "true" || value === "1"),
    LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
    EMAIL_FROM: z.string().default("AI Wallet <no-reply@localhost>"),
    RESEND_API_KEY: optionalString,
    RESEND_BASE_URL: optionalString.pipe(z.url().optional()),
    WALLET_CURRENCY: z
      .string()
      .trim()
      .toUpperCase()
      .default("USD")
      .refine(
        (code) => Intl.supportedValuesOf("currency").includes(code),
        "must be an ISO 4217 currency code, e.g. USD, EUR, XAF",
      ),
    STRIPE_SECRET_KEY: optionalString,
    STRIPE_WEBHOOK_SECRET: optionalString,
    /** Where the Stripe SDK sends requests (tests point it at a local fake); default api.stripe.com. */
    STRIPE_API_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    /** Card top-up limits and preset buttons, in whole or decimal units of WALLET_CURRENCY. */
    TOPUP_MIN: z.string().trim().default("1"),
    TOPUP_MAX: z.string().trim().default("500"),
    TOPUP_PRESETS: z.string().trim().default("5,10,20,50"),
    /** Credit for each new member once their address is confirmed (0 = none). */
    WELCOME_CREDIT: z.string().trim().default("0"),
    /** Local folder for stored files (receipts, generation inputs and outputs). */
    STORAGE_DIR: z.string().trim().default(".data/files"),
    /** S3-compatible storage (AWS S3, Cloudflare R2, MinIO) for stored files instead of STORAGE_DIR. */
    S3_BUCKET: optionalString.pipe(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a bucket name (3-63 lowercase letters, digits, . and -)")
        .optional(),
    ),
    /** "auto" for Cloudflare R2; MinIO accepts the default. */
    S3_REGION: optionalString
      .pipe(
        z
          .string()
          .regex(/^[a-z0-9-]+$/, "must be a region name such as us-east-1 or auto")
          .optional(),
      )
      .transform((region) => region ?? "us-east-1"),
    /** Default: https://s3.<region>.amazonaws.com. */
    S3_ENDPOINT: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    /** Unset: path style with S3_ENDPOINT, virtual-hosted style without. */
    S3_FORCE_PATH_STYLE: z
      .enum(["true", "false", "1", "0", "on", "off", ""])
      .optional()
      .transform((value) => (value === undefined || value === "" ? undefined : ["true", "1", "on"].includes(value))),
    S3_PREFIX: optionalString.pipe(
      z
        .string()
        .regex(/^\/?[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/, "letters, digits, . _ - and / between parts")
        .refine((prefix) => !prefix.split("/").some((part) => part === "." || part === ".."), "no . or .. parts")
        .optional(),
    ),
    GOOGLE_CLIENT_ID: optionalString,
    GOOGLE_CLIENT_SECRET: optionalString,
    /** The offline demo provider: on unless switched off (production operators usually turn it off). */
    DEMO_PROVIDER: z
      .enum(["on", "off", "true", "false", "1", "0", ""])
      .optional()
      .transform((value) => !(value === "off" || value === "false" || value === "0")),
    /** Pause between the demo's streamed words, in ms. */
    DEMO_WORD_DELAY_MS: z.coerce.number().int().min(0).max(5_000).default(40),
    /** How long the demo pretends to render a video, in ms. */
    DEMO_VIDEO_READY_AFTER_MS: z.coerce.number().int().min(0).max(600_000).default(4_000),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    ANTHROPIC_API_KEY: optionalString,
    ANTHROPIC_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    GEMINI_API_KEY: optionalString,
    GEMINI_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    BFL_API_KEY: optionalString,
    BFL_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    ELEVENLABS_API_KEY: optionalString,
    ELEVENLABS_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    FAL_KEY: optionalString,
    FAL_BASE_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    /**
     * OpenAI-compatible endpoints as JSON: [{"id":"deepseek","label":"DeepSeek","baseURL":"…","apiKey":"…",
     * "models":["deepseek-chat"]}]. Their models still need catalog rows (seeded for deepseek and qwen).
     */
    OPENAI_COMPATIBLE_PROVIDERS: z
      .string()
      .trim()
      .default("[]")
      .transform((text, ctx) => {
        try {
          return openaiCompatibleSchema.parse(JSON.parse(text || "[]"));
        } catch (error) {
          const detail = error instanceof z.ZodError ? error.issues.map((issue) => issue.message).join("; ") : "";
          ctx.addIssue({ code: "custom", message: `must be a JSON list of endpoints ${detail}`.trim() });
          return z.NEVER;
        }
      }),
    /** Longest a provider call may take before it is abandoned and refunded, in seconds. */
    GENERATION_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3_600).default(300),
    /** Contact messages (handled or not) are deleted this many days after they arrive. */
    CONTACT_RETENTION_DAYS: z.coerce.number().int().min(1).max(3_650).default(365),
    /**
     * Largest data-export archive, in bytes; a bigger export fails and stores nothing. At most 2 GiB − 1:
     * the archive is a classic ZIP (fflate writes no ZIP64) and data_exports.size is a 32-bit integer.
     */
    EXPORT_MAX_BYTES: z.coerce.number().int().min(1_048_576).max(2_147_483_647).default(2_147_483_647),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== "production") return;
    for (const key of ["DATABASE_URL", "APP_URL", "RESEND_API_KEY"] as const) {
      if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "is required in production" });
    }
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.STRIPE_SECRET_KEY) !== Boolean(env.STRIPE_WEBHOOK_SECRET)) {
      ctx.addIssue({
        code: "custom",
        path: ["STRIPE_WEBHOOK_SECRET"],
        message: "set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET together (or neither)",
      });
    }
    const min = parseAmount(env.TOPUP_MIN, env.WALLET_CURRENCY);
    const max = parseAmount(env.TOPUP_MAX, env.WALLET_CURRENCY);
    if (!min.ok) ctx.addIssue({ code: "custom", path: ["TOPUP_MIN"], message: min.error });
    if (!max.ok) ctx.addIssue({ code: "custom", path: ["TOPUP_MAX"], message: max.error });
    if (min.ok && max.ok && min.micros > max.micros) {
      ctx.addIssue({ code: "custom", path: ["TOPUP_MAX"], message: "must be at least TOPUP_MIN" });
    }
    if (env.WELCOME_CREDIT !== "0") {
      const welcome = parseAmount(env.WELCOME_CREDIT, env.WALLET_CURRENCY);
      if (!welcome.ok) ctx.addIssue({ code: "custom", path: ["WELCOME_CREDIT"], message: welcome.error });
    }
    for (const preset of env.TOPUP_PRESETS.split(",").filter(Boolean)) {
      const parsed = parseAmount(preset, env.WALLET_CURRENCY);
      if (!parsed.ok) ctx.addIssue({ code: "custom", path: ["TOPUP_PRESETS"], message: `${preset}: ${parsed.error}` });
    }
  })
  .superRefine((env, ctx) => {
    if (Boolean(env.GOOGLE_CLIENT_ID) !== Boolean(env.GOOGLE_CLIENT_SECRET)) {
      ctx.addIssue({
        code: "custom",
        path: ["GOOGLE_CLIENT_SECRET"],
        message: "set GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET together (or neither)",
      });
    }
  })
  .superRefine((env, ctx) => {
    if (env.S3_BUCKET) {
      for (const key of ["S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY"] as const) {
        if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "is required when S3_BUCKET is set" });
      }
      return;
    }
    for (const key of ["S3_ENDPOINT", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY", "S3_PREFIX"] as const) {
      if (env[key]) {
        ctx.addIssue({
          code: "custom",
          path: ["S3_BUCKET"],
          message: `is required when ${key} is set (set the S3_* variables together, or none for local disk)`,
        });
        return;
      }
    }
  })
  .transform((env) => ({
    ...env,
    APP_URL: (env.APP_URL ?? `http://localhost:${env.PORT}`).replace(/\/$/, ""),
    isProduction: env.NODE_ENV === "production",
    googleEnabled: Boolean(env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET),
    stripeEnabled: Boolean(env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET),
    welcomeCredit: env.WELCOME_CREDIT === "0" ? 0n : micros(env.WELCOME_CREDIT, env.WALLET_CURRENCY),
    topUp: {
      min: micros(env.TOPUP_MIN, env.WALLET_CURRENCY),
      max: micros(env.TOPUP_MAX, env.WALLET_CURRENCY),
      presets: env.TOPUP_PRESETS.split(",")
        .filter(Boolean)
        .map((preset) => micros(preset, env.WALLET_CURRENCY)),
    },
  }));

export type Env = z.infer<typeof schema>;

export function parseEnv(source: Record<string, string | undefined>): Env {
  const result = schema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => `  - ${issue.path.join(".") || "(env)"}: ${issue.message}`);
    throw new Error(`Invalid environment variables:\n${lines.join("\n")}\nSee .env.example.`);
  }
  return result.data;
}

export const env = parseEnv(process.env);
