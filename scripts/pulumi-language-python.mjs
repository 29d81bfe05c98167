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
import { execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "package.json"));
const grpc = require("@grpc/grpc-js");
const pb = require("@pulumi/pulumi/proto/language_pb");
const pluginPb = require("@pulumi/pulumi/proto/plugin_pb");
const { LanguageRuntimeService } = require("@pulumi/pulumi/proto/language_grpc_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
const { version: sdkVersion } = require("@pulumi/pulumi/package.json");

const RUNNER = join(here, "pulumi_language_python_run.py");
/** Exit code of the runner meaning "the error was already reported to the engine". */
const ALREADY_REPORTED = 32;

let engineAddress = process.argv.slice(2).filter((a) => !a.startsWith("-")).at(0) ?? "";
const running = new Set();

const unimplemented = (what) => (_call, done) => done({ code: grpc.status.UNIMPLEMENTED, details: `toolgate's pulumi-language-python does not ${what}` });

const handlers = {
  handshake(call, done) {
    engineAddress = call.request.getEngineAddress() || engineAddress;
    done(null, new pb.LanguageHandshakeResponse());
  },
  getPluginInfo(_call, done) {
    const info = new pluginPb.PluginInfo();
    info.setVersion(sdkVersion);
    done(null, info);
  },
  // Provider plugins come from Pulumi.yaml (`plugins.providers`); nothing is downloaded.
  getRequiredPlugins(_call, done) {
    done(null, new pb.GetRequiredPluginsResponse());
  },
  getRequiredPackages(_call, done) {
    done(null, new pb.GetRequiredPackagesResponse());
  },
  about(_call, done) {
    const about = new pb.AboutResponse();
    about.setExecutable(process.env.PULUMI_PYTHON_CMD || "python3");
    done(null, about);
  },
  getProgramDependencies(_call, done) {
    done(null, new pb.GetProgramDependenciesResponse());
  },
  installDependencies(call) {
    // The program's virtualenv is prepared before pulumi runs (pip install -r requirements.txt).
    call.end();
  },
  cancel(_call, done) {
    for (const child of running) child.kill("SIGINT");
    done(null, new Empty());
  },
  run(call, done) {
    run(call.request).then(
      (result) => done(null, result),
      (error) => done({ code: grpc.status.INTERNAL, details: String(error?.message ?? error) }),
    );
  },
  generatePackage(call, done) {
    generatePackage(call.request).then(
      (result) => done(null, result),
      (error) => done({ code: grpc.status.INTERNAL, details: String(error?.message ?? error) }),
    );
  },
  generateProject: unimplemented("generate projects"),
  generateProgram: unimplemented("generate programs"),
  pack: unimplemented("pack SDKs"),
};

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
  const python = pythonOf(options, rootDirectory);
  const args = ["-u", RUNNER];
  const add = (flag, value) => value !== undefined && value !== "" && args.push(`--${flag}`, String(value));
  add("monitor", req.getMonitorAddress());
  add("engine", engineAddress);
  add("organization", req.getOrganization());
  add("project", req.getProject());
  add("stack", req.getStack());
  add("pwd", programDirectory);
  if (req.getDryrun()) args.push("--dry-run");
  add("parallel", req.getParallel());
  args.push(resolve(programDirectory, info?.getEntryPoint() || req.getProgram() || "."), ...req.getArgsList());

  const env = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(Object.fromEntries(req.getConfigMap().entries())),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
  };
  const response = new pb.RunResponse();
  const code = await new Promise((done) => {
    const child = spawn(python, args, { cwd: programDirectory, env, stdio: ["ignore", "inherit", "inherit"] });
    running.add(child);
    child.once("error", (error) => done(`could not start ${python}: ${error.message}`));
    child.once("exit", (exitCode, signal) => {
      running.delete(child);
      done(exitCode ?? signal);
    });
  });
  if (code === ALREADY_REPORTED) response.setBail(true);
  else if (typeof code === "string" && code.startsWith("could not")) response.setError(`Problem executing program (could not run the Python runner): ${code}`);
  else if (code !== 0) response.setError(`Program exited with non-zero exit code: ${code}`);
  return response;
}

const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
server.addService(LanguageRuntimeService, handlers);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`pulumi-language-python: could not start the language host: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    for (const child of running) child.kill(signal);
    server.forceShutdown();
    process.exit(0);
  });
}
