/* global process */
// Tailwind 4 writes modern CSS nesting (`:where(& > …)`) that the Remix classic compiler's esbuild cannot
// parse. Lightning CSS lowers it in every mode (Tailwind only does by default in production); development
// builds stay unminified so they remain readable.
export default {
  plugins: {
    "@tailwindcss/postcss": { optimize: { minify: process.env.NODE_ENV === "production" } },
  },
};
