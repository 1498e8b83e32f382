// ESLint flat config for the whole repository (STYLE.md point 14).
// typescript-eslint "recommended" without type information: type-aware rules would need a full
// TypeScript program per run and make `npm run lint` several times slower; `npm run typecheck`
// (tsc strict + noUncheckedIndexedAccess) already covers what they add.
// pcf-controls/ has no config of its own (pcfconfig.json sets skipBuildLinting), so the
// Power Apps checker rules for the PCF control and the web resources live here too.
import js from "@eslint/js";
import powerApps from "@microsoft/eslint-plugin-power-apps";
import prettierRecommended from "eslint-config-prettier";
import promise from "eslint-plugin-promise";
import simpleImportSort from "eslint-plugin-simple-import-sort";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    // Build outputs, generated code and dependencies are never linted.
    ignores: [
      "**/node_modules/**",
      "build/**",
      "dist/**",
      "out/**",
      "obj/**",
      "coverage/**",
      ".sandbox-data/**",
      ".stryker-tmp*/**",
      "reports/**",
      "test/artifacts/**",
      "bench/results/**",
      "pcf-controls/**/generated/**",
      "pcf-controls/**/out/**",
      "**/*.d.ts",
      // Compiled or bundled JavaScript next to its TypeScript source.
      "**/*.js",
      // Hand-written CommonJS entry points and configs are still linted (see below).
      "!bin/**/*.js",
      "!scripts/**/*.js",
      "!jest*.config.js",
      "!test/setup-env.js",
    ],
  },

  js.configs.recommended,
  ...tseslint.configs.recommended,
  // Layout is prettier's job (`npm run format`, checked by `npm run lint`): eslint-config-prettier turns
  // off the stylistic rules that would disagree with it.
  prettierRecommended,

  {
    // Imports in one order everywhere, fixed by `eslint --fix` (part of `npm run format`).
    name: "repo/import-order",
    plugins: { "simple-import-sort": simpleImportSort },
    rules: { "simple-import-sort/imports": "error", "simple-import-sort/exports": "error" },
  },

  {
    name: "repo/typescript",
    files: ["**/*.ts", "**/*.tsx", "**/*.mts", "**/*.cts"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.node },
    },
    rules: {
      // `_`-prefixed parameters and variables are deliberate (handler signatures, ignored tuple items).
      "@typescript-eslint/no-unused-vars": [
        "error",
        {
          args: "after-used",
          argsIgnorePattern: "^_",
          varsIgnorePattern: "^_",
          caughtErrorsIgnorePattern: "^_",
          destructuredArrayIgnorePattern: "^_",
          ignoreRestSiblings: true,
        },
      ],
      "@typescript-eslint/no-explicit-any": "warn",
      "no-duplicate-imports": "off",
      eqeqeq: ["error", "smart"],
      "no-console": "off",
    },
  },

  {
    // One-way layers: src/ is the library; the CLI, the Functions app, the webhook handlers, the sandbox
    // and the bench are applications composed from it, so src/ never imports them.
    name: "repo/layers",
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./)+(functions|plugins|sandbox|bench|cli|test|webresources|pcf-controls|ui-shared)(/|$)",
              message: "src/ is the library: it never imports an application (functions, plugins, sandbox, bench, cli) or UI code.",
            },
          ],
        },
      ],
    },
  },

  {
    // The code shared by the PCF control and the web resources runs in the browser: it may use the
    // library's errors but never an application or a deployable's own folder.
    name: "repo/ui-shared",
    files: ["ui-shared/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./)+(functions|plugins|sandbox|bench|cli|webresources|pcf-controls)(/|$)",
              message: "ui-shared/ is shared by the PCF control and the web resources; it imports neither of them nor an application.",
            },
          ],
        },
      ],
    },
  },

  {
    // Choice values (the publisher's 36500xxxx range) are written only in the schema generated from solution/
    // (src/schema/generated.ts, `npm run gen:schema`); code imports them. Tests may pin contract values.
    name: "repo/choice-values",
    files: ["**/*.ts", "**/*.tsx"],
    ignores: ["src/schema/generated.ts", "test/**"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "Literal[raw=/^36500\\d{4}$/]",
          message: "Choice values come from src/schema (generated from solution/ by npm run gen:schema); import the constant instead.",
        },
      ],
    },
  },

  {
    // Plain CommonJS JavaScript: launchers, build scripts, jest config.
    name: "repo/commonjs",
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "commonjs",
      globals: { ...globals.node },
    },
    rules: {
      "@typescript-eslint/no-require-imports": "off",
    },
  },

  {
    name: "repo/tests",
    files: ["test/**/*.ts", "test/**/*.tsx"],
    languageOptions: { globals: { ...globals.node, ...globals.jest } },
    rules: {
      // Tests assert on values they just created; `!` there is clearer than a guard.
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },

  {
    // Code that runs inside Dataverse / Power Apps: the PCF control and the web resources.
    name: "repo/power-apps",
    files: ["pcf-controls/**/*.ts", "pcf-controls/**/*.tsx", "webresources/**/*.ts", "ui-shared/**/*.ts"],
    languageOptions: {
      globals: { ...globals.browser, Xrm: "readonly", ComponentFramework: "readonly" },
    },
    plugins: {
      "@microsoft/power-apps": powerApps,
      promise,
    },
    rules: {
      ...powerApps.configs.paCheckerHosted.rules,
      ...promise.configs["flat/recommended"].rules,
      // `promise/always-return` flags every `.then(setState)` in React handlers; async/await is the norm here.
      "promise/always-return": "off",
    },
  },

  {
    // The PCF control imports shared TypeScript modules from ../../../ui-shared; pcf-scripts
    // bundles them into bundle.js, so these are build-time module paths, not URLs fetched at runtime,
    // and use-cached-webresource (which matches any "../" string) only reports false positives here.
    name: "repo/pcf-bundled-imports",
    files: ["pcf-controls/**/*.ts", "pcf-controls/**/*.tsx"],
    rules: { "@microsoft/power-apps/use-cached-webresource": "off" },
  },
);
