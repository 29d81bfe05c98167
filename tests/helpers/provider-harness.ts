import { spawn, type ChildProcess } from "node:child_process";
import type * as grpcJs from "@grpc/grpc-js";
import { createRequire } from "node:module";
import * as pulumi from "@pulumi/pulumi";
import { ROOT } from "./cli.ts";
import { serializedProvider, type ResourceKind } from "../../provider/shim.ts";

/**
 * Drives the real `@pulumi/pulumi` dynamic-provider gRPC server the way the engine does (check → diff →
 * create/update, read, delete), without the Pulumi CLI. See docs/provider.md "Testing".
 */
const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js") as typeof grpcJs;
const providerPb = require("@pulumi/pulumi/proto/provider_pb");
const { ResourceProviderClient } = require("@pulumi/pulumi/proto/provider_grpc_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");

export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const TYPES: Record<ResourceKind, string> = { server: "McpServer", policy: "Policy", grant: "Grant", webhook: "Webhook", identityProvider: "IdentityProvider" };

export type Props = Record<string, unknown>;

export interface CheckResult {
  inputs: Props;
  failures: { property: string; reason: string }[];
}

export interface DiffResult {
  changes: "unknown" | "none" | "some";
  replaces: string[];
  deleteBeforeReplace: boolean;
}

/** The exact text Pulumi stores as `__provider` for a kind. */
export async function providerText(kind: ResourceKind): Promise<string> {
  const provider = serializedProvider(kind);
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  return sf.text;
}

/** The engine always sends the serialized provider along with inputs and state (as `__provider`). */
async function withProvider(kind: ResourceKind, props: Props): Promise<Props> {
  return props.__provider === undefined ? { ...props, __provider: await providerText(kind) } : props;
}

export class ProviderHarness {
  private readonly client: { [method: string]: (req: unknown, cb: (err: Error | null, res: unknown) => void) => void; close(): void };
  readonly stderr: string[];
  private readonly child: ChildProcess;
  private constructor(child: ChildProcess, port: number, stderr: string[]) {
    this.child = child;
    this.stderr = stderr;
    this.client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  /**
   * Spawns the dynamic-provider server with the project as cwd (so `toolgate/provider-impl` resolves) and configures
   * it with `config` (stack config as the engine passes it). The TOOLGATE_* variables of the test's own environment
   * are not passed on: only `env`.
   */
  static async start(env: NodeJS.ProcessEnv, config: Record<string, string> = {}): Promise<ProviderHarness> {
    const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider");
    const child = spawn(process.execPath, [entry, "127.0.0.1:1"], { cwd: ROOT, env: { ...process.env, PULUMI_NODEJS_PROJECT: "shop", PULUMI_NODEJS_STACK: "dev", TOOLGATE_ENDPOINT: "", TOOLGATE_TOKEN: "", TOOLGATE_TIMEOUT_MS: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    const stderr: string[] = [];
    child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\s*$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once("exit", (code) => reject(new Error(`dynamic provider exited with ${code}: ${stderr.join("")}`)));
    });
    const harness = new ProviderHarness(child, port, stderr);
    const req = new providerPb.ConfigureRequest();
    req.setArgs(Struct.fromJavaScript(config));
    await harness.call("configure", req);
    return harness;
  }

  async stop(): Promise<void> {
    this.client.close();
    this.child.kill();
    await new Promise((r) => (this.child.exitCode === null ? this.child.once("exit", r) : r(null)));
  }

  private call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => this.client[method]!(req, (err, res) => (err ? reject(err) : resolve(res as T))));
  }

  urn(kind: ResourceKind, name: string): string {
    return `urn:pulumi:dev::shop::pulumi-nodejs:dynamic/toolgate:${TYPES[kind]}::${name}`;
  }

  async check(kind: ResourceKind, name: string, olds: Props, news: Props): Promise<CheckResult> {
    const req = new providerPb.CheckRequest();
    req.setUrn(this.urn(kind, name));
    req.setOlds(Struct.fromJavaScript(olds));
    req.setNews(Struct.fromJavaScript(await withProvider(kind, news)));
    const res = await this.call<{ getInputs(): { toJavaScript(): Props }; getFailuresList(): { getProperty(): string; getReason(): string }[] }>("check", req);
    return { inputs: res.getInputs().toJavaScript(), failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })) };
  }

  async diff(kind: ResourceKind, name: string, id: string, olds: Props, news: Props): Promise<DiffResult> {
    const req = new providerPb.DiffRequest();
    req.setId(id);
    req.setUrn(this.urn(kind, name));
    req.setOlds(Struct.fromJavaScript(await withProvider(kind, olds)));
    req.setNews(Struct.fromJavaScript(await withProvider(kind, news)));
    const res = await this.call<{ getChanges(): number; getReplacesList(): string[]; getDeletebeforereplace(): boolean }>("diff", req);
    return { changes: (["unknown", "none", "some"] as const)[res.getChanges()]!, replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
  }

  async create(kind: ResourceKind, name: string, inputs: Props): Promise<{ id: string; outs: Props }> {
    const req = new providerPb.CreateRequest();
    req.setUrn(this.urn(kind, name));
    req.setProperties(Struct.fromJavaScript(inputs));
    const res = await this.call<{ getId(): string; getProperties(): { toJavaScript(): Props } }>("create", req);
    return { id: res.getId(), outs: res.getProperties().toJavaScript() };
  }

  async read(kind: ResourceKind, name: string, id: string, props: Props): Promise<{ id: string; props: Props; inputs: Props | undefined }> {
    const req = new providerPb.ReadRequest();
    req.setId(id);
    req.setUrn(this.urn(kind, name));
    req.setProperties(Struct.fromJavaScript(await withProvider(kind, props)));
    const res = await this.call<{ getId(): string; getProperties(): { toJavaScript(): Props } | undefined; getInputs(): { toJavaScript(): Props } | undefined }>("read", req);
    const inputs = res.getInputs()?.toJavaScript();
    if (inputs) delete inputs.__provider;
    return { id: res.getId(), props: res.getProperties()?.toJavaScript() ?? {}, inputs };
  }

  async update(kind: ResourceKind, name: string, id: string, olds: Props, news: Props): Promise<Props> {
    const req = new providerPb.UpdateRequest();
    req.setId(id);
    req.setUrn(this.urn(kind, name));
    req.setOlds(Struct.fromJavaScript(await withProvider(kind, olds)));
    req.setNews(Struct.fromJavaScript(await withProvider(kind, news)));
    const res = await this.call<{ getProperties(): { toJavaScript(): Props } }>("update", req);
    return res.getProperties().toJavaScript();
  }

  async delete(kind: ResourceKind, name: string, id: string, props: Props): Promise<void> {
    const req = new providerPb.DeleteRequest();
    req.setId(id);
    req.setUrn(this.urn(kind, name));
    req.setProperties(Struct.fromJavaScript(await withProvider(kind, props)));
    await this.call("delete", req);
  }

  /** The engine's sequence for a new resource: check, then create with the checked inputs. */
  async createResource(kind: ResourceKind, name: string, inputs: Props): Promise<{ id: string; outs: Props; failures: CheckResult["failures"] }> {
    const checked = await this.check(kind, name, {}, inputs);
    if (checked.failures.length > 0) return { id: "", outs: {}, failures: checked.failures };
    const created = await this.create(kind, name, checked.inputs);
    return { ...created, failures: [] };
  }

  /** The engine's sequence for a changed program: check, diff, then update if needed. */
  async updateResource(kind: ResourceKind, name: string, id: string, oldInputs: Props, oldOuts: Props, news: Props): Promise<{ diff: DiffResult; outs: Props; failures: CheckResult["failures"] }> {
    const checked = await this.check(kind, name, oldInputs, news);
    if (checked.failures.length > 0) return { diff: { changes: "unknown", replaces: [], deleteBeforeReplace: false }, outs: oldOuts, failures: checked.failures };
    const diff = await this.diff(kind, name, id, oldOuts, checked.inputs);
    if (diff.changes !== "some" || diff.replaces.length > 0) return { diff, outs: oldOuts, failures: [] };
    return { diff, outs: await this.update(kind, name, id, oldOuts, checked.inputs), failures: [] };
  }

  async pluginInfo(): Promise<string> {
    const res = await this.call<{ getVersion(): string }>("getPluginInfo", new Empty());
    return res.getVersion();
  }
}
