import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { ROOT } from "../helpers/cli.ts";

/**
 * Every `ts` block of docs/provider.md that imports `toolgate` or `toolgate/native` is a whole program a user could paste: it must
 * type-check against the package's types (`toolgate` as the source it is built from), with the compiler options
 * of this repository. (Blocks without imports are fragments of a program shown elsewhere.)
 */
test("the TypeScript programs in docs/provider.md type-check", () => {
  const markdown = readFileSync(join(ROOT, "docs", "provider.md"), "utf8");
  const blocks = [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => /^import .* from "toolgate(\/native)?";$/m.test(b));
  assert.ok(blocks.length >= 3, `found ${blocks.length} ts programs`);
  const files = new Map(blocks.map((text, i) => [join(ROOT, "docs", `provider.md.example-${i + 1}.ts`), text]));

  const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(String(d.messageText)) })!;
  const options: ts.CompilerOptions = {
    ...config.options,
    noEmit: true,
    baseUrl: ROOT,
    paths: { toolgate: ["./provider/index.ts"], "toolgate/sdk": ["./sdk/index.ts"], "toolgate/native": ["./provider/native/sdk/index.ts"] },
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (f) => files.has(f) || fileExists.call(host, f);
  host.readFile = (f) => files.get(f) ?? readFile.call(host, f);
  host.getSourceFile = (f, language, ...rest) => (files.has(f) ? ts.createSourceFile(f, files.get(f)!, language) : getSourceFile.call(host, f, language, ...rest));
  const program = ts.createProgram([...files.keys()], options, host);

  const problems = [...files.keys()].flatMap((f) =>
    ts.getPreEmitDiagnostics(program, program.getSourceFile(f)).map((d) => {
      const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
      return `${f.slice(ROOT.length + 1)}${at ? `:${at.line + 1}:${at.character + 1}` : ""}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`;
    }),
  );
  assert.deepEqual(problems, []);
});
