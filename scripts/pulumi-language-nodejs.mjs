// The Pulumi language host for Node.js programs: the `pulumi-language-nodejs` plugin the Pulumi CLI starts to run
// a program. Pulumi ships it as a Go module (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// that the Go module proxy does not serve, so this is a small equivalent on the @pulumi/pulumi npm package's own
// gRPC stubs. It does what the Go host does for `preview`, `up`, `refresh` and `destroy`: runs
// `@pulumi/pulumi/cmd/run` with the engine's arguments and config. Not supported: synchronous invokes (the
// `--sync` pipes of the Go host), `pulumi new`/`convert` code generation, plugin packing and the debugger.
//
// Started by the engine as `pulumi-language-nodejs [-flags] <engine address>`; prints its port, serves until killed.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "package.json"));
const grpc = require("@grpc/grpc-js");
const pb = require("@pulumi/pulumi/proto/language_pb");
const pluginPb = require("@pulumi/pulumi/proto/plugin_pb");
const { LanguageRuntimeService } = require("@pulumi/pulumi/proto/language_grpc_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
const { version: sdkVersion } = require("@pulumi/pulumi/package.json");

/** Exit code of `cmd/run` meaning "the user was already shown an actionable message". */
const ALREADY_REPORTED = 32;

let engineAddress = process.argv.slice(2).filter((a) => !a.startsWith("-")).at(0) ?? "";
const running = new Set();

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
  // The dynamic-provider plugin (pulumi-nodejs) is bundled with the CLI; toolgate needs no other plugin.
  getRequiredPlugins(_call, done) {
    done(null, new pb.GetRequiredPluginsResponse());
  },
  getRequiredPackages(_call, done) {
    done(null, new pb.GetRequiredPackagesResponse());
  },
  about(_call, done) {
    const about = new pb.AboutResponse();
    about.setExecutable(process.execPath);
    about.setVersion(process.version);
    done(null, about);
  },
  getProgramDependencies(_call, done) {
    done(null, new pb.GetProgramDependenciesResponse());
  },
  installDependencies(call) {
    // Dependencies are installed by `npm ci` before pulumi runs.
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
};

async function run(req) {
  const info = req.getInfo();
  const programDirectory = info?.getProgramDirectory() || req.getPwd() || process.cwd();
  const options = info?.getOptions()?.toJavaScript() ?? {};
  const response = new pb.RunResponse();
  let runPath;
  try {
    runPath = createRequire(join(programDirectory, "package.json")).resolve(process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || "@pulumi/pulumi/cmd/run");
  } catch {
    response.setError(`It looks like the Pulumi SDK has not been installed in ${programDirectory}. Have you run npm install?`);
    return response;
  }
  const args = [runPath];
  const add = (flag, value) => value !== undefined && value !== "" && args.push(`--${flag}`, String(value));
  add("monitor", req.getMonitorAddress());
  add("engine", engineAddress);
  add("organization", req.getOrganization());
  add("project", req.getProject());
  add("root-directory", info?.getRootDirectory());
  add("stack", req.getStack());
  add("pwd", programDirectory);
  if (req.getDryrun()) args.push("--dry-run");
  add("parallel", req.getParallel());
  args.push(info?.getEntryPoint() || req.getProgram() || ".", ...req.getArgsList());

  const config = {};
  for (const [key, value] of req.getConfigMap().entries()) config[legacyConfigKey(key)] = value;
  const env = {
    ...process.env,
    PULUMI_CONFIG: JSON.stringify(config),
    PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(req.getConfigsecretkeysList()),
  };
  if (options.typescript !== false) env.PULUMI_NODEJS_TYPESCRIPT = "true";
  if (typeof options.tsconfig === "string") env.PULUMI_NODEJS_TSCONFIG_PATH = options.tsconfig;
  const nodeArgs = typeof options.nodeargs === "string" && options.nodeargs.trim() ? options.nodeargs.trim().split(/\s+/) : [];

  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, ...args], { cwd: programDirectory, env, stdio: ["ignore", "inherit", "inherit"] });
    running.add(child);
    child.once("error", (error) => resolve(`could not start node: ${error.message}`));
    child.once("exit", (exitCode, signal) => {
      running.delete(child);
      resolve(exitCode ?? signal);
    });
  });
  if (code === ALREADY_REPORTED) response.setBail(true);
  else if (typeof code === "string" && code.startsWith("could not")) response.setError(`Problem executing program (could not run language executor): ${code}`);
  else if (code !== 0) response.setError(`Program exited with non-zero exit code: ${code}`);
  return response;
}

/** `ns:name` → `ns:config:name`, the form `@pulumi/pulumi` reads from PULUMI_CONFIG (as the Go host sends it). */
function legacyConfigKey(key) {
  const parts = key.split(":");
  if (parts.length === 3 && parts[1] === "config") return key;
  const at = key.indexOf(":");
  return at < 0 ? key : `${key.slice(0, at)}:config:${key.slice(at + 1)}`;
}

const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
server.addService(LanguageRuntimeService, handlers);
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`pulumi-language-nodejs: could not start the language host: ${error.message}\n`);
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
