import { IdentityProviderSpecSchema, zodIssues } from "../../sdk/index.ts";
import { adminClient } from "./config.ts";
import { diffOn, forPulumi, inputsOf, isUnknown, OUTPUTS_SCHEMA_VERSION, toFailures, type CheckFailure, type Props } from "./common.ts";
import { createOwned, deleteOwned, nameFailures, updateOwned } from "./lifecycle.ts";
import { replaceNotes, tellReviewer, urnOf } from "./review.ts";
import { DRIFTED_SECRET, revisionOf } from "./secret-revisions.ts";

/** IdentityProviderObjectSchema: unset fields are null (audiences an empty list). */
interface IdentityProviderObject {
  name: string;
  issuer: string;
  audiences?: string[] | null;
  jwksUri?: string | null;
  introspectionEndpoint?: string | null;
  algorithms?: string[] | null;
  clockSkewSeconds?: number | null;
  clientId?: string | null;
  /** Set when a client secret is stored; the secret itself is never returned. */
  clientSecretDigest?: string | null;
  description?: string | null;
  owner?: string | null;
  version: number;
}

/** Inputs sent to the admin API as they are. */
const PLAIN = ["issuer", "audiences", "jwksUri", "introspectionEndpoint", "algorithms", "clockSkewSeconds", "clientId", "clientSecret", "description"] as const;
const COMPARED = ["name", ...PLAIN, "owner"] as const;
const OUTPUT_ONLY = ["version", "clientSecretDigest", "schemaVersion"];

export const identityProviderProvider = {
  async check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const inputs = inputsOf(news, OUTPUT_ONLY);
    const failures = nameFailures(inputs.name);
    if (isUnknown(inputs)) return { inputs: withRevision(olds, inputs), failures };
    const body = spec(inputs);
    const parsed = IdentityProviderSpecSchema.safeParse(body, { reportInput: false });
    if (!parsed.success) {
      // The name's own failure is reported once, by nameFailures.
      failures.push(...toFailures(zodIssues(parsed.error, { input: body })).filter((f) => f.property !== "name"));
      return { inputs, failures };
    }
    if (inputs.clientSecret !== undefined && inputs.clientId === undefined) {
      failures.push({ property: "clientSecret", reason: "clientSecret needs clientId: it is the secret of the gateway's client at this identity provider" });
    }
    return { inputs: withRevision(olds, inputs), failures };
  },

  async diff(id: string, olds: Props, news: Props) {
    const result = await diffOn(COMPARED)(id, olds, news);
    await tellReviewer(urnOf(news), replaceNotes("IdentityProvider", olds, news, result.replaces));
    return result;
  },

  async create(inputs: Props) {
    const name = inputs.name as string;
    return forPulumi("create identity provider", name, async () => {
      const r = await createOwned<IdentityProviderObject>(adminClient(), "identity-providers", name, spec(inputs), inputs.owner as string, inputs.adopt === true);
      return { id: name, outs: outputs(inputs, r.value) };
    });
  },

  async read(id: string, props: Props) {
    return forPulumi("read identity provider", id, async () => {
      const live = await adminClient().get<IdentityProviderObject>("identity-providers", id);
      if (!live) return {};
      const v = live.value;
      const digest = v.clientSecretDigest ?? undefined;
      const sameSecret = digest === (props.clientSecretDigest as string | undefined);
      // No audiences is an empty list in the API: as the program said it, so a refresh shows no phantom change.
      const audiences = v.audiences?.length ? v.audiences : Array.isArray(props.audiences) && props.audiences.length === 0 ? [] : undefined;
      const inputs: Props = {
        ...inputsOf(props, [...OUTPUT_ONLY, ...PLAIN]),
        name: v.name,
        issuer: v.issuer,
        audiences,
        jwksUri: v.jwksUri ?? undefined,
        introspectionEndpoint: v.introspectionEndpoint ?? undefined,
        algorithms: v.algorithms ?? undefined,
        clockSkewSeconds: v.clockSkewSeconds ?? undefined,
        clientId: v.clientId ?? undefined,
        clientSecret: digest === undefined ? undefined : sameSecret ? props.clientSecret : DRIFTED_SECRET,
        description: v.description ?? undefined,
        owner: v.owner ?? undefined,
      };
      return { id, props: outputs(inputs, v), inputs: inputsOf(inputs) };
    });
  },

  async update(_id: string, _olds: Props, news: Props) {
    const name = news.name as string;
    return forPulumi("update identity provider", name, async () => {
      const r = await updateOwned<IdentityProviderObject>(adminClient(), "identity-providers", name, spec(news), news.owner as string, news.adopt === true);
      return { outs: outputs(news, r.value) };
    });
  },

  async delete(id: string, props: Props) {
    return forPulumi("delete identity provider", id, () => deleteOwned(adminClient(), "identity-providers", id, props));
  },
};

/** `clientSecretRevision`: a plain input that shows a changed client secret as changed, without its value. */
function withRevision(olds: Props, inputs: Props): Props {
  if (inputs.clientSecret === undefined) {
    const { clientSecretRevision: _gone, ...rest } = inputs;
    return rest;
  }
  return { ...inputs, clientSecretRevision: revisionOf(olds, inputs, "clientSecret") };
}

/** The admin API body. */
function spec(inputs: Props): Props {
  const out: Props = { name: inputs.name, owner: inputs.owner };
  for (const key of PLAIN) if (inputs[key] !== undefined) out[key] = inputs[key];
  return out;
}

function outputs(inputs: Props, live: IdentityProviderObject): Props {
  const out: Props = { ...inputsOf(inputs, OUTPUT_ONLY), version: live.version, schemaVersion: OUTPUTS_SCHEMA_VERSION };
  if (live.clientSecretDigest) out.clientSecretDigest = live.clientSecretDigest;
  return out;
}
