// What toolgate's two Pulumi language hosts (scripts/pulumi-language-nodejs.mjs, scripts/pulumi-language-python.mjs)
// share: the gRPC LanguageRuntime server on the @pulumi/pulumi npm package's stubs, the handlers that do the same
// in both, the runner's engine flags, and running the program as a child process.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "package.json"));
export const grpc = require("@grpc/grpc-js");
export const pb = require("@pulumi/pulumi/proto/language_pb");
const pluginPb = require("@pulumi/pulumi/proto/plugin_pb");
const { LanguageRuntimeService } = require("@pulumi/pulumi/proto/language_grpc_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
const { version: sdkVersion } = require("@pulumi/pulumi/package.json");

/** Exit code of a program runner meaning "the error was already reported to the engine". */
const ALREADY_REPORTED = 32;

let engineAddress = process.argv.slice(2).filter((a) => !a.startsWith("-")).at(0) ?? "";
const running = new Set();

/** A unary handler from an async function of the request; a failure is an INTERNAL error with its message. */
export const promised = (fn) => (call, done) =>
  fn(call.request).then(
    (result) => done(null, result),
    (error) => done({ code: grpc.status.INTERNAL, details: String(error?.message ?? error) }),
  );

/** The engine's flags for a program runner (`--monitor`, `--engine`, ... `--dry-run`), as both runners take them. */
export function runnerFlags(req, programDirectory, extra = {}) {
  const args = [];
  const add = (flag, value) => value !== undefined && value !== "" && args.push(`--${flag}`, String(value));
  add("monitor", req.getMonitorAddress());
  add("engine", engineAddress);
  add("organization", req.getOrganization());
  add("project", req.getProject());
  for (const [flag, value] of Object.entries(extra)) add(flag, value);
  add("stack", req.getStack());
  add("pwd", programDirectory);
  if (req.getDryrun()) args.push("--dry-run");
  add("parallel", req.getParallel());
  return args;
}

/** Runs the program's runner with the engine's output on ours; its exit as a RunResponse (`what`: the runner, for errors). */
export async function runProgram(command, args, { cwd, env }, what) {
  const code = await new Promise((done) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
    running.add(child);
    child.once("error", (error) => done(`could not start ${command}: ${error.message}`));
    child.once("exit", (exitCode, signal) => {
      running.delete(child);
      done(exitCode ?? signal);
    });
  });
  const response = new pb.RunResponse();
  if (code === ALREADY_REPORTED) response.setBail(true);
  else if (typeof code === "string" && code.startsWith("could not")) response.setError(`Problem executing program (could not run ${what}): ${code}`);
  else if (code !== 0) response.setError(`Program exited with non-zero exit code: ${code}`);
  return response;
}

/**
 * Serves a language host as the engine starts one (`<plugin> [-flags] <engine address>`): prints its port and
 * serves until killed. `handlers` adds to or overrides the shared ones (it must give `run` and `about`).
 */
export function serveLanguageHost(name, handlers) {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(LanguageRuntimeService, {
    handshake(call, done) {
      engineAddress = call.request.getEngineAddress() || engineAddress;
      done(null, new pb.LanguageHandshakeResponse());
    },
    getPluginInfo(_call, done) {
      const info = new pluginPb.PluginInfo();
      info.setVersion(sdkVersion);
      done(null, info);
    },
    // Provider plugins come from Pulumi.yaml (`plugins.providers`) or are bundled with the CLI; nothing is downloaded.
    getRequiredPlugins(_call, done) {
      done(null, new pb.GetRequiredPluginsResponse());
    },
    getRequiredPackages(_call, done) {
      done(null, new pb.GetRequiredPackagesResponse());
    },
    getProgramDependencies(_call, done) {
      done(null, new pb.GetProgramDependenciesResponse());
    },
    // Dependencies are installed before pulumi runs (`npm ci`, a virtualenv's `pip install`).
    installDependencies(call) {
      call.end();
    },
    cancel(_call, done) {
      for (const child of running) child.kill("SIGINT");
      done(null, new Empty());
    },
    ...handlers,
  });
  server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`${name}: could not start the language host: ${error.message}\n`);
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
}
