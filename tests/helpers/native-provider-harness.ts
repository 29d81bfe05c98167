import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { ROOT } from "./cli.ts";
import { emptyPb, grpc, providerGrpc, providerPb, structPb } from "../../provider/native/rpc.ts";
import type * as grpcJs from "@grpc/grpc-js";
import type * as structPbTypes from "google-protobuf/google/protobuf/struct_pb.js";
import { createRequire } from "node:module";

/**
 * Drives the native plugin, `bin/pulumi-resource-toolgate`, over gRPC the way the engine does, without the Pulumi
 * CLI: spawned with the address of a small fake engine whose Log service records what the plugin tells the reviewer.
 */
const require = createRequire(import.meta.url);
const engineGrpc = require("@pulumi/pulumi/proto/engine_grpc_pb");
const PLUGIN = resolve(ROOT, "bin/pulumi-resource-toolgate");

export type Props = Record<string, unknown>;
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const SIG = "4dabf18193072939515e22adb298388d";

/** A secret as the engine sends it to a provider that accepts secrets. */
export const secret = (value: unknown): Props => ({ [SIG]: "1b47061264138c4ac30d75fd1eb44270", value });

/** `value` with every secret envelope's content left out: what Pulumi would store or show in clear. */
export function inClear(props: Props): Props {
  return clear(props) as Props;
}

function clear(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clear);
  if (value !== null && typeof value === "object") {
    if ((value as Props)[SIG] !== undefined) return "[secret]";
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clear(v)]));
  }
  return value;
}

export interface EngineLog {
  severity: number;
  message: string;
  urn: string;
}

export interface PropertyChange {
  kind: "ADD" | "ADD_REPLACE" | "DELETE" | "DELETE_REPLACE" | "UPDATE" | "UPDATE_REPLACE";
  inputDiff: boolean;
}

export interface DiffResult {
  changes: "unknown" | "none" | "some";
  replaces: string[];
  deleteBeforeReplace: boolean;
  detailed: Record<string, PropertyChange>;
}

type Client = { [method: string]: (req: unknown, cb: (err: grpcJs.ServiceError | null, res: never) => void) => void } & { close(): void };

const KINDS = ["ADD", "ADD_REPLACE", "DELETE", "DELETE_REPLACE", "UPDATE", "UPDATE_REPLACE"] as const;
const struct = (p: Props) => structPb.Struct.fromJavaScript(p as Record<string, structPbTypes.JavaScriptValue>);
const js = (s: structPbTypes.Struct | undefined): Props => (s?.toJavaScript() ?? {}) as Props;

export class NativeProvider {
  /** What the plugin sent to the engine's Log service. */
  readonly logs: EngineLog[] = [];
  readonly stderr: string[] = [];
  private client!: Client;
  private child!: ChildProcess;
  private engine!: grpcJs.Server;

  /** Spawns the plugin with only `env` of the TOOLGATE_* variables (the test's own are not passed on). */
  static async start(env: NodeJS.ProcessEnv = {}): Promise<NativeProvider> {
    const p = new NativeProvider();
    p.engine = new grpc.Server();
    p.engine.addService(engineGrpc.EngineService, {
      log: (call: { request: { getSeverity(): number; getMessage(): string; getUrn(): string } }, cb: (e: null, r: unknown) => void) => {
        p.logs.push({ severity: call.request.getSeverity(), message: call.request.getMessage(), urn: call.request.getUrn() });
        cb(null, new emptyPb.Empty());
      },
      getRootResource: (_c: unknown, cb: (e: Error) => void) => cb(new Error("unused")),
      setRootResource: (_c: unknown, cb: (e: Error) => void) => cb(new Error("unused")),
    });
    const enginePort = await new Promise<number>((ok, fail) => p.engine.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => (e ? fail(e) : ok(port))));
    p.child = spawn(PLUGIN, [`127.0.0.1:${enginePort}`], {
      cwd: ROOT,
      env: { ...process.env, TOOLGATE_ENDPOINT: "", TOOLGATE_TOKEN: "", TOOLGATE_TIMEOUT_MS: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    p.child.stderr!.on("data", (d: Buffer) => p.stderr.push(d.toString()));
    const port = await new Promise<number>((ok, fail) => {
      let out = "";
      p.child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^(\d+)\n/.exec(out);
        if (m) ok(Number(m[1]));
      });
      p.child.once("exit", (code) => fail(new Error(`the plugin exited with ${code}: ${p.stderr.join("")}`)));
    });
    p.client = new providerGrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as Client;
    return p;
  }

  async stop(): Promise<void> {
    this.client.close();
    this.child.kill();
    await new Promise((r) => (this.child.exitCode === null ? this.child.once("exit", r) : r(null)));
    this.engine.forceShutdown();
  }

  call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((ok, fail) => this.client[method]!(req, (err, res: T) => (err ? fail(err) : ok(res))));
  }

  urn(type: string, name: string): string {
    return `urn:pulumi:dev::shop::toolgate:index:${type}::${name}`;
  }

  async handshake(): Promise<{ acceptSecrets: boolean }> {
    const req = new providerPb.ProviderHandshakeRequest().setEngineAddress("");
    const res = await this.call<{ getAcceptSecrets(): boolean }>("handshake", req);
    return { acceptSecrets: res.getAcceptSecrets() };
  }

  /** Configure the way current engines do (the args struct), or with only the legacy `variables`. */
  async configure(config: Props, form: "args" | "variables" = "args"): Promise<{ acceptSecrets: boolean }> {
    const req = new providerPb.ConfigureRequest().setType("pulumi:providers:toolgate").setAcceptsecrets(true);
    if (form === "args") req.setArgs(struct(config));
    else for (const [k, v] of Object.entries(config)) req.getVariablesMap().set(`toolgate:config:${k}`, String(v));
    const res = await this.call<{ getAcceptsecrets(): boolean }>("configure", req);
    return { acceptSecrets: res.getAcceptsecrets() };
  }

  async checkConfig(news: Props): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }> {
    const req = new providerPb.CheckRequest().setUrn("urn:pulumi:dev::shop::pulumi:providers:toolgate::default").setOlds(struct({})).setNews(struct(news));
    const res = await this.call<providerPbCheck>("checkConfig", req);
    return { inputs: js(res.getInputs()), failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })) };
  }

  async diffConfig(olds: Props, news: Props): Promise<DiffResult> {
    const req = new providerPb.DiffRequest().setUrn("urn:pulumi:dev::shop::pulumi:providers:toolgate::default").setOlds(struct(olds)).setNews(struct(news));
    return diffResult(await this.call("diffConfig", req));
  }

  async check(type: string, name: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: { property: string; reason: string }[] }> {
    const req = new providerPb.CheckRequest().setUrn(this.urn(type, name)).setOlds(struct(olds)).setNews(struct(news));
    const res = await this.call<providerPbCheck>("check", req);
    return { inputs: js(res.getInputs()), failures: res.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })) };
  }

  async diff(type: string, name: string, id: string, olds: Props, news: Props): Promise<DiffResult> {
    const req = new providerPb.DiffRequest().setId(id).setUrn(this.urn(type, name)).setOlds(struct(olds)).setNews(struct(news));
    return diffResult(await this.call("diff", req));
  }

  async create(type: string, name: string, properties: Props, preview = false): Promise<{ id: string; outs: Props }> {
    const req = new providerPb.CreateRequest().setUrn(this.urn(type, name)).setProperties(struct(properties)).setPreview(preview);
    const res = await this.call<{ getId(): string; getProperties(): structPbTypes.Struct | undefined }>("create", req);
    return { id: res.getId(), outs: js(res.getProperties()) };
  }

  async read(type: string, name: string, id: string, properties: Props = {}, inputs: Props = {}): Promise<{ id: string; props: Props; inputs: Props }> {
    const req = new providerPb.ReadRequest().setId(id).setUrn(this.urn(type, name)).setProperties(struct(properties)).setInputs(struct(inputs));
    const res = await this.call<{ getId(): string; getProperties(): structPbTypes.Struct | undefined; getInputs(): structPbTypes.Struct | undefined }>("read", req);
    return { id: res.getId(), props: js(res.getProperties()), inputs: js(res.getInputs()) };
  }

  async update(type: string, name: string, id: string, olds: Props, news: Props, preview = false): Promise<Props> {
    const req = new providerPb.UpdateRequest().setId(id).setUrn(this.urn(type, name)).setOlds(struct(olds)).setNews(struct(news)).setPreview(preview);
    const res = await this.call<{ getProperties(): structPbTypes.Struct | undefined }>("update", req);
    return js(res.getProperties());
  }

  async delete(type: string, name: string, id: string, properties: Props): Promise<void> {
    await this.call("delete", new providerPb.DeleteRequest().setId(id).setUrn(this.urn(type, name)).setProperties(struct(properties)));
  }

  /** The engine's sequence for a new resource: check, then create with the checked inputs. */
  async createResource(type: string, name: string, news: Props): Promise<{ inputs: Props; id: string; outs: Props }> {
    const checked = await this.check(type, name, {}, news);
    if (checked.failures.length > 0) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
    return { inputs: checked.inputs, ...(await this.create(type, name, checked.inputs)) };
  }

  async schema(): Promise<string> {
    const res = await this.call<{ getSchema(): string }>("getSchema", new providerPb.GetSchemaRequest());
    return res.getSchema();
  }

  async pluginInfo(): Promise<string> {
    const res = await this.call<{ getVersion(): string }>("getPluginInfo", new emptyPb.Empty());
    return res.getVersion();
  }
}

type providerPbCheck = { getInputs(): structPbTypes.Struct | undefined; getFailuresList(): { getProperty(): string; getReason(): string }[] };

function diffResult(res: {
  getChanges(): number;
  getReplacesList(): string[];
  getDeletebeforereplace(): boolean;
  getDetaileddiffMap(): { forEach(f: (value: { getKind(): number; getInputdiff(): boolean }, key: string) => void): void };
}): DiffResult {
  const detailed: Record<string, PropertyChange> = {};
  res.getDetaileddiffMap().forEach((d, k) => (detailed[k] = { kind: KINDS[d.getKind()]!, inputDiff: d.getInputdiff() }));
  return {
    changes: (["unknown", "none", "some"] as const)[res.getChanges()]!,
    replaces: res.getReplacesList(),
    deleteBeforeReplace: res.getDeletebeforereplace(),
    detailed,
  };
}
