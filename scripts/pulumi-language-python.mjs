// The Pulumi language host for Python programs: the `pulumi-language-python` plugin the Pulumi CLI starts to run
// a program with `runtime: python`. Pulumi ships it as a Go module
// (github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3) that the Go module proxy does not serve, so
// this is a small equivalent on the @pulumi/pulumi npm package's gRPC stubs, like scripts/pulumi-language-nodejs.mjs.
// For `preview`, `up`, `refresh` and `destroy` it runs scripts/pulumi_language_python_run.py with the program's
// Python: `<virtualenv>/bin/python` when Pulumi.yaml names a `virtualenv` option (relative to the project), else
// $PULUMI_PYTHON_CMD or `python3`. For `pulumi package gen-sdk --language python` it runs the generator that
// `npm run sdks` uses. It does not create virtualenvs or install dependencies (`pulumi install`), and does not
// generate policy packs or `pulumi new`/`convert` code.
//
// Started by the engine as `pulumi-language-python [-flags] <engine address>`; prints its port, serves until killed.
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { grpc, pb, promised, runnerFlags, runProgram, serveLanguageHost } from "./pulumi-language-host.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const RUNNER = join(here, "pulumi_language_python_run.py");

const unimplemented = (what) => (_call, done) => done({ code: grpc.status.UNIMPLEMENTED, details: `toolgate's pulumi-language-python does not ${what}` });

serveLanguageHost("pulumi-language-python", {
  about(_call, done) {
    const about = new pb.AboutResponse();
    about.setExecutable(process.env.PULUMI_PYTHON_CMD || "python3");
    done(null, about);
  },
  run: promised(run),
  generatePackage: promised(generatePackage),
  generateProject: unimplemented("generate projects"),
  generateProgram: unimplemented("generate programs"),
  pack: unimplemented("pack SDKs"),
});

/**
 * `pulumi package gen-sdk --language python`: the Python generator of the CLI's own Go module, built and cached by
 * scripts/gen-sdks.sh (the same one `npm run sdks` uses). Only self-contained schemas (no other package's types).
 */
async function generatePackage(req) {
  const generator = (await output("bash", [join(here, "gen-sdks.sh"), "--generator"])).trim().split("\n").at(-1);
  const scratch = mkdtempSync(join(tmpdir(), "toolgate-gen-sdk-"));
  try {
    const schema = join(scratch, "schema.json");
    writeFileSync(schema, req.getSchema());
    await output(generator, ["-language", "python", "-out", req.getDirectory(), schema]);
    for (const [name, contents] of req.getExtraFilesMap().entries()) {
      mkdirSync(dirname(join(req.getDirectory(), name)), { recursive: true });
      writeFileSync(join(req.getDirectory(), name), contents);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return new pb.GeneratePackageResponse();
}

/** Runs a command; its stdout, or an error with its stderr. */
function output(command, args) {
  return new Promise((done, fail) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => (error ? fail(new Error(`${command} failed: ${stderr || error.message}`)) : done(stdout)));
  });
}

/** The program's Python: its virtualenv's (the `virtualenv` runtime option, relative to the project), or the default. */
function pythonOf(options, rootDirectory) {
  if (typeof options.virtualenv === "string" && options.virtualenv !== "") {
    const venv = isAbsolute(options.virtualenv) ? options.virtualenv : resolve(rootDirectory, options.virtualenv);
    return join(venv, "bin", "python");
  }
  return process.env.PULUMI_PYTHON_CMD || "python3";
}

async function run(req) {
  const info = req.getInfo();
  const programDirectory = info?.getProgramDirectory() || req.getPwd() || process.cwd();
  const rootDirectory = info?.getRootDirectory() || programDirectory;
  const options = info?.getOptions()?.toJavaScript() ?? {};
  const args = ["-u", RUNNER, ...runnerFlags(req, programDirectory), resolve(programDirectory, info?.getEntryPoint() || req.getProgram() || "."), ...req.getArgsList()];
  const env = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(Object.fromEntries(req.getConfigMap().entries())),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
  };
  return runProgram(pythonOf(options, rootDirectory), args, { cwd: programDirectory, env }, "the Python runner");
}
