import { z } from "zod";
import { parseAmount, parseInteger } from "./money";
import { parseTrustProxy } from "./proxy-trust.server";

function micros(text: string, currency: string, options: { allowZero?: boolean } = {}): bigint {
  const parsed = parseAmount(text, currency, options);
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

/** A whole number in [min, max] read by the one strict parser (no "0x10", "1e3", "2.5"); empty: the default. */
function integer(min: number, max: number, fallback: number) {
  return optionalString.transform((text, ctx) => {
    if (text === undefined) return fallback;
    const parsed = parseInteger(text, { min, max });
    if (parsed.ok) return parsed.value;
    ctx.addIssue({ code: "custom", message: parsed.error });
    return z.NEVER;
  });
}

/** Development and tests only: production must set its own APP_SECRET (refused there). */
const DEVELOPMENT_APP_SECRET = "development-only-app-secret-do-not-use-in-production";

const schema = z
  .object({
    NODE_ENV: z.enum(["development", "production", "test"]).default("development"),
    PORT: integer(0, 65535, 3000),
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
    /** A manual top-up crediting more than this (units of WALLET_CURRENCY) needs two different admins. */
    TOPUP_SECOND_APPROVAL_ABOVE: z.string().trim().default("100"),
    /** Credit for each new member once their address is confirmed (0 = none). */
    WELCOME_CREDIT: z.string().trim().default("0"),
    /** Most welcome credits granted to sign-ups confirmed from one IP address (IPv6: one /64) per 24 hours. */
    WELCOME_CREDITS_PER_IP_PER_DAY: integer(0, 1_000_000, 3),
    /**
     * Server secret for keyed hashes (HMAC-SHA256), e.g. of a mailbox that received the welcome credit. At
     * least 32 characters; required in production when WELCOME_CREDIT is on. Changing it forgets which
     * mailboxes were credited.
     */
    APP_SECRET: optionalString.pipe(
      z.string().min(32, "must be at least 32 characters (a long random value)").optional(),
    ),
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
    DEMO_WORD_DELAY_MS: integer(0, 5_000, 40),
    /** How long the demo pretends to render a video, in ms. */
    DEMO_VIDEO_READY_AFTER_MS: integer(0, 600_000, 4_000),
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
    GENERATION_TIMEOUT_SECONDS: integer(1, 3_600, 300),
    /** Contact messages (handled or not) are deleted this many days after they arrive. */
    CONTACT_RETENTION_DAYS: integer(1, 3_650, 365),
    /**
     * Largest data-export archive, in bytes; a bigger export fails and stores nothing. At most 2 GiB − 1:
     * the archive is a classic ZIP (fflate writes no ZIP64) and data_exports.size is a 32-bit integer.
     */
    EXPORT_MAX_BYTES: integer(1_048_576, 2_147_483_647, 2_147_483_647),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== "production") return;
    for (const key of ["DATABASE_URL", "APP_URL", "RESEND_API_KEY"] as const) {
      if (!env[key]) ctx.addIssue({ code: "custom", path: [key], message: "is required in production" });
    }
    // The welcome credit's once-per-mailbox check is the secret's only use so far.
    if (!env.APP_SECRET && env.WELCOME_CREDIT !== "0") {
      ctx.addIssue({
        code: "custom",
        path: ["APP_SECRET"],
        message: "is required in production when WELCOME_CREDIT is set",
      });
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
    const secondApproval = parseAmount(env.TOPUP_SECOND_APPROVAL_ABOVE, env.WALLET_CURRENCY, { allowZero: true });
    if (!secondApproval.ok) {
      ctx.addIssue({ code: "custom", path: ["TOPUP_SECOND_APPROVAL_ABOVE"], message: secondApproval.error });
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
    APP_SECRET: env.APP_SECRET ?? DEVELOPMENT_APP_SECRET,
    googleEnabled: Boolean(env.GOOGLE_CLIENT_ID && env.GOOGLE_CLIENT_SECRET),
    stripeEnabled: Boolean(env.STRIPE_SECRET_KEY && env.STRIPE_WEBHOOK_SECRET),
    welcomeCredit: env.WELCOME_CREDIT === "0" ? 0n : micros(env.WELCOME_CREDIT, env.WALLET_CURRENCY),
    topUp: {
      min: micros(env.TOPUP_MIN, env.WALLET_CURRENCY),
      max: micros(env.TOPUP_MAX, env.WALLET_CURRENCY),
      presets: env.TOPUP_PRESETS.split(",")
        .filter(Boolean)
        .map((preset) => micros(preset, env.WALLET_CURRENCY)),
      secondApprovalAbove: micros(env.TOPUP_SECOND_APPROVAL_ABOVE, env.WALLET_CURRENCY, { allowZero: true }),
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
