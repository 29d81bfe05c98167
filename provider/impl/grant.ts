import { AdminApiError, GrantIdentitySchema, GrantSpecSchema, zodIssues } from "../../sdk/index.ts";
import { adminClient } from "./config.ts";
import { diffOn, forPulumi, inputsOf, isUnknown, OUTPUTS_SCHEMA_VERSION, toFailures, type CheckFailure, type Props } from "./common.ts";
import { createOwned, deleteOwned, nameFailures, updateOwned } from "./lifecycle.ts";
import { replaceNotes, tellReviewer, urnOf } from "./review.ts";

interface GrantObject {
  name: string;
  server: string;
  policy: string | null;
  expiresAt: string | null;
  identity?: Record<string, unknown> | null;
  description?: string | null;
  owner?: string | null;
  url: string;
  version: number;
  /** Only on create and rotate. */
  token?: string;
}

const COMPARED = ["name", "server", "policy", "expiresAt", "description", "rotation", "identity", "owner"] as const;
const OUTPUT_ONLY = ["token", "url", "version", "schemaVersion"];

export const grantProvider = {
  async check(_olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const inputs = inputsOf(news, OUTPUT_ONLY);
    const failures = [...nameFailures(inputs.name), ...(inputs.server === undefined ? [] : nameFailures(inputs.server)).map((f) => ({ ...f, property: "server", reason: f.reason.replace("name must", "server must") }))];
    if (inputs.server === undefined) failures.push({ property: "server", reason: "server is required: the name of an McpServer or the resource" });
    if (inputs.policy !== undefined) failures.push(...nameFailures(inputs.policy).map((f) => ({ ...f, property: "policy", reason: f.reason.replace("name must", "policy must") })));
    if (inputs.expiresAt !== undefined && !isUnknown(inputs.expiresAt)) {
      // The gateway's own rule: a date and time with seconds optional and a zone (Z or ±hh:mm), nothing Date.parse guesses at.
      const parsed = GrantSpecSchema.shape.expiresAt.safeParse(inputs.expiresAt);
      if (!parsed.success || typeof parsed.data !== "string") {
        failures.push({ property: "expiresAt", reason: `expiresAt must be an ISO 8601 time like 2027-01-31T00:00:00Z, got ${JSON.stringify(inputs.expiresAt)}` });
      } else {
        const expiresAt = new Date(parsed.data);
        inputs.expiresAt = expiresAt.toISOString();
        if (expiresAt.getTime() <= Date.now()) {
          await tellReviewer(urnOf(inputs), [{ severity: "warning", message: `Grant "${String(inputs.name)}": expiresAt ${expiresAt.toISOString()} is in the past: the gateway refuses its token` }]);
        }
      }
    }
    if (inputs.rotation !== undefined && !isUnknown(inputs.rotation) && typeof inputs.rotation !== "string") {
      failures.push({ property: "rotation", reason: "rotation must be a string; change it to issue a new token" });
    }
    if (inputs.identity !== undefined) failures.push(...identityFailures(inputs));
    return { inputs, failures };
  },

  async diff(id: string, olds: Props, news: Props) {
    const result = await diffOn(COMPARED)(id, olds, news);
    await tellReviewer(urnOf(news), replaceNotes("Grant", olds, news, result.replaces));
    return result;
  },

  async create(inputs: Props) {
    const name = inputs.name as string;
    return forPulumi("create grant", name, async () => {
      const client = adminClient();
      const r = await createOwned<GrantObject>(client, "grants", name, body(inputs), inputs.owner as string, inputs.adopt === true);
      let token = r.value.token;
      let live = r.value;
      // A grant this resource created but never recorded (a lost answer, an interrupted `up`) has a token nobody
      // holds: issue one. An adopted grant keeps its token unless `rotation` asks for a new one. A grant by
      // identity has none.
      if (inputs.identity === undefined && token === undefined && (!r.adopted || inputs.rotation !== undefined)) {
        live = (await client.rotateGrant<GrantObject>(name)).value;
        token = live.token;
      }
      return { id: name, outs: outputs(inputs, live, token) };
    });
  },

  async read(id: string, props: Props) {
    return forPulumi("read grant", id, async () => {
      const live = await adminClient().get<GrantObject>("grants", id);
      if (!live) return {};
      const inputs: Props = {
        ...inputsOf(props, OUTPUT_ONLY),
        name: live.value.name,
        server: live.value.server,
        policy: live.value.policy ?? undefined,
        expiresAt: live.value.expiresAt ?? undefined,
        identity: live.value.identity ?? undefined,
        description: live.value.description ?? undefined,
        owner: live.value.owner ?? undefined,
      };
      return { id, props: outputs(inputs, live.value, props.token as string | undefined), inputs: inputsOf(inputs) };
    });
  },

  async update(_id: string, olds: Props, news: Props) {
    const name = news.name as string;
    return forPulumi("update grant", name, async () => {
      const client = adminClient();
      let live = (await updateOwned<GrantObject>(client, "grants", name, body(news), news.owner as string, news.adopt === true)).value;
      if (news.identity !== undefined) return { outs: outputs(news, live, undefined) };
      let token = live.token ?? (olds.token as string | undefined);
      // A grant by identity that becomes a token grant has no token yet: issue one.
      if ((olds.rotation ?? null) !== (news.rotation ?? null) || (olds.identity !== undefined && token === undefined)) {
        live = (await client.rotateGrant<GrantObject>(name)).value;
        token = live.token;
      }
      return { outs: outputs(news, live, token) };
    });
  },

  async delete(id: string, props: Props) {
    return forPulumi("delete grant", id, async () => {
      try {
        await deleteOwned(adminClient(), "grants", id, props);
      } catch (error) {
        if (error instanceof AdminApiError && error.status === 404) return;
        throw error;
      }
    });
  },
};

function body(inputs: Props): Props {
  const out: Props = { name: inputs.name, server: inputs.server, policy: inputs.policy ?? null, owner: inputs.owner };
  if (inputs.expiresAt !== undefined) out.expiresAt = inputs.expiresAt;
  if (inputs.identity !== undefined) out.identity = inputs.identity;
  if (inputs.description !== undefined) out.description = inputs.description;
  return out;
}

/** `identity` checked with the gateway's own schema; a grant by identity holds no token, so it cannot be rotated. */
function identityFailures(inputs: Props): CheckFailure[] {
  const failures: CheckFailure[] = [];
  if (inputs.rotation !== undefined) {
    failures.push({ property: "rotation", reason: "rotation applies to token grants; a grant with identity holds no token (remove rotation, or identity)" });
  }
  if (isUnknown(inputs.identity)) return failures;
  const parsed = GrantIdentitySchema.safeParse(inputs.identity, { reportInput: false });
  if (!parsed.success) failures.push(...toFailures(zodIssues(parsed.error, { input: inputs.identity }), "identity"));
  return failures;
}

function outputs(inputs: Props, live: GrantObject, token: string | undefined): Props {
  const out: Props = { ...inputsOf(inputs, OUTPUT_ONLY), url: live.url, version: live.version, schemaVersion: OUTPUTS_SCHEMA_VERSION };
  if (token !== undefined) out.token = token;
  return out;
}
