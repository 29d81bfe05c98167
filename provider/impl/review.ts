import { createRequire } from "node:module";
import type * as grpcJs from "@grpc/grpc-js";
import { printable } from "../../sdk/index.ts";
import type * as enginePbModule from "@pulumi/pulumi/proto/engine_pb.js";
import type * as engineGrpcModule from "@pulumi/pulumi/proto/engine_grpc_pb.js";

/** A line for whoever reviews `pulumi preview`: `warning` for what loosens access, `info` for the rest. */
export interface Note {
  severity: "info" | "warning";
  message: string;
}

/**
 * Shows notes in `pulumi preview` / `up` output, under the resource when its URN is known. Pulumi's dynamic
 * provider never forwards a detailed diff and gives the provider no logger, but it starts the provider process
 * with the engine's address as its only argument: notes go to the engine's Log service there (the channel
 * `pulumi.log` uses in programs). Anywhere else (tests driving the provider directly, an engine that refuses),
 * they go to stderr, which the CLI shows as well, under the stack. Names and rules in a note come from the program
 * under review, so control and direction-changing characters are escaped: a note cannot hide or rewrite a line.
 */
export async function tellReviewer(urn: string | undefined, notes: readonly Note[]): Promise<void> {
  for (const { severity, message } of notes) {
    const note = { severity, message: printable(message) };
    const client = engineClient();
    const sent = client ? await client.log(urn, note).then(() => true, () => false) : false;
    if (!sent) {
      engine = null; // an engine that did not answer once is not waited for again
      process.stderr.write(`${note.severity === "warning" ? "warning: " : ""}${note.message}\n`);
    }
  }
}

/** Owners written by this provider are the resource's URN (`urn:pulumi:…`); older ones name only the stack. */
export function urnOf(props: Record<string, unknown>): string | undefined {
  return typeof props.owner === "string" && props.owner.startsWith("urn:pulumi:") ? props.owner : undefined;
}

/**
 * Why an object is replaced rather than updated (a detailed diff would carry this; the dynamic provider cannot
 * send one): names are identities, so the gateway deletes the old object before the new one exists.
 */
export function replaceNotes(kind: string, olds: Record<string, unknown>, news: Record<string, unknown>, replaces: readonly string[]): Note[] {
  return replaces.map((key) => ({
    severity: "info",
    message: `${kind} "${String(olds.name)}" is replaced because ${key} changes from ${JSON.stringify(olds[key])} to ${JSON.stringify(news[key])}: the old one is deleted first, then "${String(news.name)}" is created`,
  }));
}

interface Engine {
  log(urn: string | undefined, note: Note): Promise<void>;
}

let engine: Engine | null | undefined;
let engineAddress: string | undefined;

/** The engine's address for notes, given by a plugin that knows it (the native provider: its last argument). */
export function reportTo(address: string): void {
  if (!address) return;
  engineAddress = address;
  engine = undefined;
}

function engineClient(): Engine | null {
  if (engine !== undefined) return engine;
  const [script, dynamicAddress] = process.argv.slice(1);
  const address = engineAddress ?? (script?.replaceAll("\\", "/").includes("/cmd/dynamic-provider") ? dynamicAddress : undefined);
  if (!address || !/^[\w.-]+:\d+$/.test(address)) return (engine = null);
  const require = createRequire(import.meta.url);
  const stubs = require.resolve("@pulumi/pulumi/proto/engine_grpc_pb");
  // The gRPC library the SDK's own stubs are built on (credentials from another copy are refused).
  const grpc = createRequire(stubs)("@grpc/grpc-js") as typeof grpcJs;
  const pb = require("@pulumi/pulumi/proto/engine_pb") as typeof enginePbModule;
  const { EngineClient } = require(stubs) as typeof engineGrpcModule;
  const client = new EngineClient(address, grpc.credentials.createInsecure());
  return (engine = {
    log(urn, note) {
      const request = new pb.LogRequest();
      request.setSeverity(note.severity === "warning" ? pb.LogSeverity.WARNING : pb.LogSeverity.INFO);
      request.setMessage(note.message);
      request.setUrn(urn ?? "");
      return new Promise((resolve, reject) => client.log(request, new grpc.Metadata(), { deadline: Date.now() + 5_000 }, (error) => (error ? reject(error) : resolve())));
    },
  });
}
