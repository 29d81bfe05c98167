// Child processes of the benchmark: anything that prints a readiness line, and the upstream MCP servers.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "../../tests/helpers/cli.ts";

export function startProcess(command: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = process.env): Promise<{ child: ChildProcess; match: RegExpExecArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${command} did not start in 20s:\n${output}`)), 20_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const match = ready.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${command} exited with ${code}:\n${output}`)));
  });
}

export async function startUpstream(kind: "echo" | "everything"): Promise<{ url: string; child: ChildProcess }> {
  const { child, match } = await startProcess(process.execPath, [join(ROOT, "bench", "lib", "upstream-process.ts"), kind], /\{"url":"([^"]+)"\}/);
  return { url: match[1]!, child };
}

