// The Pulumi language host for Node.js programs: the `pulumi-language-nodejs` plugin the Pulumi CLI starts to run
// a program. Pulumi ships it as a Go module (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// that the Go module proxy does not serve, so this is a small equivalent on the @pulumi/pulumi npm package's own
// gRPC stubs. It does what the Go host does for `preview`, `up`, `refresh` and `destroy`: runs
// `@pulumi/pulumi/cmd/run` with the engine's arguments and config. Not supported: synchronous invokes (the
// `--sync` pipes of the Go host), `pulumi new`/`convert` code generation, plugin packing and the debugger.
//
// Started by the engine as `pulumi-language-nodejs [-flags] <engine address>`; prints its port, serves until killed.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pb, promised, runnerFlags, runProgram, serveLanguageHost } from "./pulumi-language-host.mjs";

serveLanguageHost("pulumi-language-nodejs", {
  about(_call, done) {
    const about = new pb.AboutResponse();
    about.setExecutable(process.execPath);
    about.setVersion(process.version);
    done(null, about);
  },
  run: promised(run),
});

async function run(req) {
  const info = req.getInfo();
  const programDirectory = info?.getProgramDirectory() || req.getPwd() || process.cwd();
  const options = info?.getOptions()?.toJavaScript() ?? {};
  let runPath;
  try {
    runPath = createRequire(join(programDirectory, "package.json")).resolve(process.env.PULUMI_LANGUAGE_NODEJS_RUN_PATH || "@pulumi/pulumi/cmd/run");
  } catch {
    return new pb.RunResponse().setError(`It looks like the Pulumi SDK has not been installed in ${programDirectory}. Have you run npm install?`);
  }
  const args = [runPath, ...runnerFlags(req, programDirectory, { "root-directory": info?.getRootDirectory() }), info?.getEntryPoint() || req.getProgram() || ".", ...req.getArgsList()];

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
  return runProgram(process.execPath, [...nodeArgs, ...args], { cwd: programDirectory, env }, "language executor");
}

/** `ns:name` → `ns:config:name`, the form `@pulumi/pulumi` reads from PULUMI_CONFIG (as the Go host sends it). */
function legacyConfigKey(key) {
  const parts = key.split(":");
  if (parts.length === 3 && parts[1] === "config") return key;
  const at = key.indexOf(":");
  return at < 0 ? key : `${key.slice(0, at)}:config:${key.slice(at + 1)}`;
}
