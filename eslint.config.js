import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "sdk/schema/", "bench/results/", "**/.pulumi-state/", ".toolgate/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly", clearTimeout: "readonly" } },
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='includes'][arguments.0.value=/json|event-stream/]",
          message: "Don't substring-match media types; parse the Content-Type (see gateway/http/media-type.ts).",
        },
      ],
    },
  },
  {
    // sdk/ depends on nothing of ours (DESIGN.md section 1).
    files: ["sdk/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["**/gateway/**", "**/provider/**"], message: "sdk/ must not import gateway/ or provider/." }] }] },
  },
  {
    files: ["provider/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["**/gateway/**"], message: "provider/ must not import gateway/." }] }] },
  },
  {
    files: ["gateway/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["**/provider/**"], message: "gateway/ must not import provider/." }] }] },
  },
);
