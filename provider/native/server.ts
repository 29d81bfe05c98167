import type * as grpcJs from "@grpc/grpc-js";
import type * as providerPbTypes from "@pulumi/pulumi/proto/provider_pb.js";
import type * as pluginPbTypes from "@pulumi/pulumi/proto/plugin_pb.js";
import type * as emptyPbTypes from "google-protobuf/google/protobuf/empty_pb.js";
import type * as structPbTypes from "google-protobuf/google/protobuf/struct_pb.js";
import { SDK_VERSION } from "../../sdk/index.ts";
import { reportTo } from "../impl/review.ts";
import { check, create, diff, read, remove, update, type Diff } from "./adapter.ts";
import { checkConfig, configure, diffConfig } from "./provider-config.ts";
import { emptyPb, grpc, pluginPb, providerPb, structPb } from "./rpc.ts";
import { schemaText } from "./schema.ts";
import type { Props } from "./secrets.ts";

type Empty = emptyPbTypes.Empty;
type Handler<Req, Res> = (call: grpcJs.ServerUnaryCall<Req, Res>, callback: grpcJs.sendUnaryData<Res>) => void;

/**
 * The ResourceProvider gRPC service of the `toolgate` plugin. Every answer is built here from the adapter's plain
 * results; an error reaches the engine as its message only (no stack trace: the CLI shows it to the user).
 */
export function providerService(): grpcJs.UntypedServiceImplementation {
  return {
    handshake: unary((req: providerPbTypes.ProviderHandshakeRequest) => {
      reportTo(req.getEngineAddress());
      // A handshake makes the engine call Create and Update in previews too (with `preview` set): answered without the gateway.
      return new providerPb.ProviderHandshakeResponse().setAcceptSecrets(true).setAcceptResources(false).setAcceptOutputs(false);
    }),
    parameterize: unimplemented("Parameterize"),
    getSchema: unary((req: providerPbTypes.GetSchemaRequest) => {
      if (req.getVersion() !== 0) throw new Error(`toolgate: unsupported schema version ${req.getVersion()}`);
      return new providerPb.GetSchemaResponse().setSchema(schemaText());
    }),
    checkConfig: unary((req: providerPbTypes.CheckRequest) => checkResponse(checkConfig(props(req.getNews())))),
    diffConfig: unary((req: providerPbTypes.DiffRequest) => {
      const result = diffConfig(props(req.getOlds()), props(req.getNews()));
      const detailed = Object.fromEntries(result.changed.map((k) => [k, { kind: "update" as const, replace: false }]));
      return diffResponse({ changes: result.changes, replaces: [], deleteBeforeReplace: false, detailed });
    }),
    configure: unary((req: providerPbTypes.ConfigureRequest) => {
      configure(req.hasArgs() ? props(req.getArgs()) : undefined, new Map(req.getVariablesMap().toArray()));
      return new providerPb.ConfigureResponse().setAcceptsecrets(true).setSupportspreview(false).setAcceptresources(false).setAcceptoutputs(false);
    }),
    invoke: unimplemented("Invoke (this provider has no functions)"),
    call: unimplemented("Call"),
    construct: unimplemented("Construct (this provider has no components)"),
    list: (call: grpcJs.ServerWritableStream<unknown, unknown>) => call.destroy(Object.assign(new Error("toolgate: List is not implemented"), { code: grpc.status.UNIMPLEMENTED })),
    check: unary(async (req: providerPbTypes.CheckRequest) => checkResponse(await check(req.getUrn(), props(req.getOlds()), props(req.getNews())))),
    diff: unary(async (req: providerPbTypes.DiffRequest) => diffResponse(await diff(req.getId(), req.getUrn(), props(req.getOlds()), props(req.getNews())))),
    create: unary(async (req: providerPbTypes.CreateRequest) => {
      const result = await create(req.getUrn(), props(req.getProperties()), req.getPreview());
      return new providerPb.CreateResponse().setId(result.id).setProperties(struct(result.outs));
    }),
    read: unary(async (req: providerPbTypes.ReadRequest) => {
      const result = await read(req.getId(), req.getUrn(), props(req.getProperties()), props(req.getInputs()));
      const response = new providerPb.ReadResponse().setId(result.id);
      return result.id ? response.setProperties(struct(result.props)).setInputs(struct(result.inputs)) : response;
    }),
    update: unary(async (req: providerPbTypes.UpdateRequest) => {
      const outs = await update(req.getId(), req.getUrn(), props(req.getOlds()), props(req.getNews()), req.getPreview());
      return new providerPb.UpdateResponse().setProperties(struct(outs));
    }),
    delete: unary(async (req: providerPbTypes.DeleteRequest): Promise<Empty> => {
      await remove(req.getId(), req.getUrn(), props(req.getProperties()));
      return new emptyPb.Empty();
    }),
    cancel: unary((): Empty => new emptyPb.Empty()),
    getPluginInfo: unary((): pluginPbTypes.PluginInfo => new pluginPb.PluginInfo().setVersion(SDK_VERSION)),
    attach: unary((req: pluginPbTypes.PluginAttach): Empty => {
      reportTo(req.getAddress());
      return new emptyPb.Empty();
    }),
    getMapping: unary(() => new providerPb.GetMappingResponse().setProvider("").setData("")),
    getMappings: unary(() => new providerPb.GetMappingsResponse().setProvidersList([])),
  };
}

function unary<Req, Res>(work: (req: Req) => Res | Promise<Res>): Handler<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => work(call.request))
      .then(
        (response) => callback(null, response),
        (error: unknown) => callback({ code: grpc.status.UNKNOWN, details: error instanceof Error ? error.message : String(error) }),
      );
  };
}

function unimplemented(method: string): Handler<unknown, unknown> {
  return (_call, callback) => callback({ code: grpc.status.UNIMPLEMENTED, details: `toolgate: ${method} is not implemented` });
}

function props(value: structPbTypes.Struct | undefined): Props {
  return (value?.toJavaScript() ?? {}) as Props;
}

/** A Struct of plain JSON data (undefined properties left out, as the engine expects). */
function struct(value: Props): structPbTypes.Struct {
  return structPb.Struct.fromJavaScript(JSON.parse(JSON.stringify(value)) as Record<string, structPbTypes.JavaScriptValue>);
}

function checkResponse(result: { inputs: Props; failures: { property: string; reason: string }[] }): providerPbTypes.CheckResponse {
  const failures = result.failures.map((f) => new providerPb.CheckFailure().setProperty(f.property).setReason(f.reason));
  return new providerPb.CheckResponse().setInputs(struct(result.inputs)).setFailuresList(failures);
}

const KIND = providerPb.PropertyDiff.Kind;

function diffResponse(result: Diff): providerPbTypes.DiffResponse {
  const response = new providerPb.DiffResponse()
    .setChanges(result.changes ? providerPb.DiffResponse.DiffChanges.DIFF_SOME : providerPb.DiffResponse.DiffChanges.DIFF_NONE)
    .setReplacesList(result.replaces)
    .setDeletebeforereplace(result.deleteBeforeReplace && result.replaces.length > 0)
    .setDiffsList(Object.keys(result.detailed))
    .setHasdetaileddiff(true);
  const map = response.getDetaileddiffMap();
  for (const [key, change] of Object.entries(result.detailed)) {
    const kind = { add: change.replace ? KIND.ADD_REPLACE : KIND.ADD, delete: change.replace ? KIND.DELETE_REPLACE : KIND.DELETE, update: change.replace ? KIND.UPDATE_REPLACE : KIND.UPDATE }[change.kind];
    map.set(key, new providerPb.PropertyDiff().setKind(kind).setInputdiff(true));
  }
  return response;
}
