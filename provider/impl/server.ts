import { ServerSpecSchema, zodIssues } from "../../sdk/index.ts";
import { adminClient } from "./config.ts";
import { diffOn, forPulumi, inputsOf, isUnknown, OUTPUTS_SCHEMA_VERSION, toFailures, UNKNOWN, type CheckFailure, type Props } from "./common.ts";
import { createOwned, deleteOwned, nameFailures, updateOwned } from "./lifecycle.ts";
import { replaceNotes, tellReviewer, urnOf } from "./review.ts";
import { credentialEntries, DRIFTED_SECRET, revisions } from "./secret-revisions.ts";

type Credentials = { headers?: Record<string, string>; env?: Record<string, string>; secretArgs?: string[] };

interface ServerObject {
  name: string;
  transport: Record<string, unknown> & Credentials;
  timeoutMs: number;
  totalTimeoutMs?: number;
  maxInFlight?: number;
  roots?: { uri: string; name?: string }[];
  tokenExchange?: Record<string, unknown> | null;
  approvers?: Record<string, unknown> | null;
  description?: string | null;
  labels?: Record<string, string>;
  owner?: string | null;
  credentialsDigest?: string;
  version: number;
}

/** Inputs sent to the admin API as they are (besides name, transport and credentials). */
const PLAIN = ["timeoutMs", "totalTimeoutMs", "maxInFlight", "roots", "tokenExchange", "approvers", "description", "labels"] as const;
const COMPARED = ["name", "transport", "credentials", ...PLAIN, "owner"] as const;
const OUTPUT_ONLY = ["version", "credentialsDigest", "schemaVersion"];

export const serverProvider = {
  async check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const inputs = inputsOf(news, OUTPUT_ONLY);
    const failures = nameFailures(inputs.name);
    if (isUnknown(inputs)) return { inputs: withRevisions(olds, inputs), failures };
    const parsed = ServerSpecSchema.safeParse(spec(inputs));
    if (!parsed.success) {
      // Issues under transport.headers/env/secretArgs are reported on `credentials`, where the program's secrets live; values are never echoed.
      const issues = zodIssues(parsed.error, { input: spec(inputs) }).map((i) => ({ ...i, path: i.path.replace(/^\/transport\/(headers|env|secretArgs)/, "/credentials/$1") }));
      failures.push(...toFailures(issues));
      return { inputs, failures };
    }
    const { headers, env, secretArgs, ...transport } = parsed.data.transport as ServerObject["transport"];
    const normalized: Props = {
      ...inputs,
      transport,
      credentials: { ...(headers ? { headers } : {}), ...(env ? { env } : {}), ...(secretArgs ? { secretArgs } : {}) },
      timeoutMs: parsed.data.timeoutMs,
      labels: parsed.data.labels ?? {},
    };
    return { inputs: withRevisions(olds, normalized), failures };
  },

  async diff(id: string, olds: Props, news: Props) {
    const result = await diffOn(COMPARED)(id, olds, news);
    await tellReviewer(urnOf(news), replaceNotes("McpServer", olds, news, result.replaces));
    return result;
  },

  async create(inputs: Props) {
    const name = inputs.name as string;
    return forPulumi("create server", name, async () => {
      const r = await createOwned<ServerObject>(adminClient(), "servers", name, { ...spec(inputs), owner: inputs.owner }, inputs.owner as string, inputs.adopt === true);
      return { id: name, outs: outputs(inputs, r.value) };
    });
  },

  async read(id: string, props: Props) {
    return forPulumi("read server", id, async () => {
      const live = await adminClient().get<ServerObject>("servers", id);
      if (!live) return {};
      const { headers, env, secretArgs, ...transport } = live.value.transport;
      const sameCredentials = live.value.credentialsDigest !== undefined && live.value.credentialsDigest === props.credentialsDigest;
      const credentials: Credentials = sameCredentials ? ((props.credentials as Credentials) ?? {}) : drifted({ headers, env, secretArgs });
      const inputs: Props = {
        ...inputsOf(props, OUTPUT_ONLY),
        name: live.value.name,
        transport,
        credentials,
        timeoutMs: live.value.timeoutMs,
        totalTimeoutMs: live.value.totalTimeoutMs,
        maxInFlight: live.value.maxInFlight,
        roots: live.value.roots,
        tokenExchange: live.value.tokenExchange ?? undefined,
        approvers: live.value.approvers ?? undefined,
        description: live.value.description ?? undefined,
        labels: live.value.labels ?? {},
        owner: live.value.owner ?? undefined,
      };
      return { id, props: outputs(inputs, live.value), inputs: inputsOf(inputs) };
    });
  },

  async update(_id: string, _olds: Props, news: Props) {
    const name = news.name as string;
    return forPulumi("update server", name, async () => {
      const r = await updateOwned<ServerObject>(adminClient(), "servers", name, { ...spec(news), owner: news.owner }, news.owner as string, news.adopt === true);
      return { outs: outputs(news, r.value) };
    });
  },

  async delete(id: string, props: Props) {
    return forPulumi("delete server", id, () => deleteOwned(adminClient(), "servers", id, props));
  },
};

/** `credentialRevisions`: a plain input that shows a changed credential as changed, without its value. */
function withRevisions(olds: Props, inputs: Props): Props {
  const credentialRevisions = inputs.credentials === UNKNOWN ? UNKNOWN : revisions(credentialEntries(olds.credentials), olds.credentialRevisions, credentialEntries(inputs.credentials));
  return { ...inputs, credentialRevisions };
}

/** The admin API body: credentials go back inside the transport. */
function spec(inputs: Props): Props {
  const credentials = (inputs.credentials ?? {}) as Credentials;
  const transport = { ...(inputs.transport as Record<string, unknown>) };
  if (transport.type === "stdio" && credentials.env) transport.env = credentials.env;
  if (transport.type === "stdio" && credentials.secretArgs) transport.secretArgs = credentials.secretArgs;
  if ((transport.type === "streamable-http" || transport.type === "sse") && credentials.headers) transport.headers = credentials.headers;
  const out: Props = { name: inputs.name, transport };
  for (const key of PLAIN) if (inputs[key] !== undefined) out[key] = inputs[key];
  return out;
}

/** The shape of the live credentials (names and counts only), every value marked as changed. */
function drifted(live: { headers?: Record<string, string>; env?: Record<string, string>; secretArgs?: string[] }): Credentials {
  const mark = (m: Record<string, string>) => Object.fromEntries(Object.keys(m).map((k) => [k, DRIFTED_SECRET]));
  return {
    ...(live.headers ? { headers: mark(live.headers) } : {}),
    ...(live.env ? { env: mark(live.env) } : {}),
    ...(live.secretArgs ? { secretArgs: live.secretArgs.map(() => DRIFTED_SECRET) } : {}),
  };
}

function outputs(inputs: Props, live: ServerObject): Props {
  return { ...inputsOf(inputs, OUTPUT_ONLY), version: live.version, credentialsDigest: live.credentialsDigest, schemaVersion: OUTPUTS_SCHEMA_VERSION };
}
