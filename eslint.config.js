import js from "@eslint/js";
import react from "eslint-plugin-react";
import reactHooks from "eslint-plugin-react-hooks";
import tseslint from "typescript-eslint";

// Code that ships to the browser must never import server-only modules, model adapters or Prisma.
const serverOnly = {
  patterns: [
    {
      group: ["*.server", "*.server.*", "**/*.server", "**/*.server.*"],
      message: "Server-only module: use it from a loader/action (*.server.ts or a route module's server exports) only.",
    },
    {
      regex: "^(#providers/|(\\.\\./)+providers/)",
      message: "providers/ is server-only: go through app/models/*.server.ts.",
    },
    {
      group: ["@prisma/client", "@prisma/*", "pg"],
      message: "Prisma is server-only: go through app/models/*.server.ts.",
    },
  ],
};

const restrictedEverywhere = [
  {
    selector: "CallExpression[callee.property.name='only'][callee.object.name=/^(it|test|describe)$/]",
    message: "No focused tests.",
  },
  {
    selector: "CallExpression[callee.property.name='skip'][callee.object.name=/^(it|test|describe)$/]",
    message: "No skipped tests.",
  },
];

// Emails go through the notifications outbox (ADR 0022): a model queues a notification in its transaction;
// only app/notifications renders templates and hands them to the transport.
const emailOnlyThroughNotifications = {
  paths: [
    {
      name: "#app/utils/email.server",
      importNames: ["sendEmail", "sendRenderedEmail", "renderEmail"],
      message: "Queue a notification (app/notifications/outbox.server.ts) in the change's transaction instead.",
    },
  ],
  patterns: [
    {
      // A regex: in the gitignore-style `group` syntax a leading "#" starts a comment.
      regex: "^(#emails/|(\\.\\./)+emails/)(?!mask$)",
      message: "Templates belong to app/notifications/registry.server.ts: queue a notification of that kind instead.",
    },
  ],
};

export default tseslint.config(
  { ignores: ["build/**", "public/build/**", ".data/**", "node_modules/**", "tests/artifacts/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx}"],
    plugins: { react, "react-hooks": reactHooks },
    settings: { react: { version: "18" } },
    rules: {
      ...react.configs.recommended.rules,
      ...react.configs["jsx-runtime"].rules,
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "react/prop-types": "off",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": ["error", ...restrictedEverywhere],
    },
  },
  {
    // Client code: components, and the browser half of routes. Route modules may import
    // .server files (Remix strips loaders/actions from the client bundle), components may not.
    files: ["app/components/**/*.{ts,tsx}", "app/entry.client.tsx", "app/utils/**/*.{ts,tsx}"],
    ignores: ["app/**/*.server.{ts,tsx}"],
    rules: { "no-restricted-imports": ["error", serverOnly] },
  },
  {
    // request.formData() throws on a JSON or text/plain body, and Remix answers 500 (item 17).
    files: ["app/routes/**/*.{ts,tsx}"],
    rules: {
      "no-restricted-syntax": [
        "error",
        ...restrictedEverywhere,
        {
          selector: "CallExpression[callee.property.name='formData'][arguments.length=0]",
          message: "Read a form with readForm(request) from #app/utils/form.server: a clear 415/400, never a 500.",
        },
      ],
    },
  },
  {
    files: ["app/models/**/*.{ts,tsx}", "app/jobs/**/*.{ts,tsx}", "app/routes/**/*.{ts,tsx}"],
    // Still sending inline until their follow-up conversion (ADR 0022); remove each once it queues instead.
    ignores: [
      "app/models/account.server.ts",
      "app/models/session.server.ts",
      "app/models/verification.server.ts",
      "app/models/google.server.ts",
      "app/models/email-change.server.ts",
    ],
    rules: { "no-restricted-imports": ["error", emailOnlyThroughNotifications] },
  },
);
