import type { providers } from "../impl/index.ts";
import { jsonEqual } from "../../sdk/index.ts";
import { isSecret, secret, type Props } from "./secrets.ts";

/**
 * The resource types the native plugin serves, one entry each: which `provider/impl` kind implements it, which
 * outputs are always secret, which outputs the gateway computes (unknown in a preview), and how the program's
 * inputs become the implementation's. Adding a kind is one entry here and one in the schema generator.
 */
export interface NativeKind {
  /** The Pulumi type token, e.g. `toolgate:index:Policy`. */
  token: string;
  impl: keyof typeof providers;
  /** Outputs (and inputs of the same name) that are secret whatever the program passed. */
  secretProperties: readonly string[];
  /** Outputs the gateway sets: unknown in a preview of a create. */
  computed: readonly string[];
  /** Outputs unknown in a preview of an update from old outputs `olds` to checked inputs `news` (`version` always is). */
  unknownAfterUpdate(olds: Props, news: Props): string[];
  /** Plain inputs that show, without the value, how a secret changed: part of the detailed diff when they differ. */
  revisions: readonly string[];
  /** The program's inputs in the shape `provider/impl` checks; on secret-wrapped values, so secrecy is kept. */
  toImpl(inputs: Props): Props;
}

const same = (inputs: Props) => inputs;
/** `output` is unknown when the plain input `input` changes (a digest follows its secret, a token its rotation). */
const follows = (input: string, output: string) => (olds: Props, news: Props) => (jsonEqual(olds[input] ?? null, news[input] ?? null) ? [] : [output]);

export const KINDS: readonly NativeKind[] = [
  {
    token: "toolgate:index:McpServer",
    impl: "server",
    secretProperties: ["credentials"],
    computed: ["credentialsDigest", "version"],
    unknownAfterUpdate: follows("credentialRevisions", "credentialsDigest"),
    revisions: ["credentialRevisions"],
    toImpl: splitCredentials,
  },
  { token: "toolgate:index:Policy", impl: "policy", secretProperties: [], computed: ["version"], unknownAfterUpdate: () => [], revisions: [], toImpl: same },
  {
    token: "toolgate:index:Grant",
    impl: "grant",
    secretProperties: ["token"],
    computed: ["token", "url", "version"],
    unknownAfterUpdate: follows("rotation", "token"),
    revisions: [],
    toImpl: same,
  },
  {
    token: "toolgate:index:Webhook",
    impl: "webhook",
    secretProperties: ["signingSecret"],
    computed: ["secretDigest", "version"],
    unknownAfterUpdate: follows("signingSecretRevision", "secretDigest"),
    revisions: ["signingSecretRevision"],
    toImpl: same,
  },
  {
    token: "toolgate:index:IdentityProvider",
    impl: "identityProvider",
    secretProperties: ["clientSecret"],
    computed: ["clientSecretDigest", "version"],
    unknownAfterUpdate: follows("clientSecretRevision", "clientSecretDigest"),
    revisions: ["clientSecretRevision"],
    toImpl: same,
  },
];

const byToken = new Map(KINDS.map((k) => [k.token, k]));

/** The kind of a type token; an unknown type is an error that lists the known ones. */
export function kindOf(type: string): NativeKind {
  const kind = byToken.get(type);
  if (!kind) throw new Error(`toolgate: unknown resource type ${JSON.stringify(type)}; this provider manages ${KINDS.map((k) => k.token).join(", ")}`);
  return kind;
}

/** `urn:pulumi:<stack>::<project>::<type>::<name>` → its type token (the last type of a parent chain). */
export function typeOfUrn(urn: string): string {
  const type = urn.split("::")[2] ?? "";
  return type.slice(type.lastIndexOf("$") + 1);
}

/** The resource's logical name, the default gateway name (no random suffix). */
export function nameOfUrn(urn: string): string {
  return urn.split("::").slice(3).join("::");
}

const CREDENTIALS: Record<string, readonly string[]> = { "streamable-http": ["headers"], sse: ["headers"], stdio: ["env", "secretArgs"] };

/**
 * The McpServer transport as the program gives it (headers, env and secretArgs inside) split into the transport
 * without credentials and `credentials`, the same split `provider/mcp-server.ts` does for the dynamic resource.
 * A transport that is secret as a whole gives two secret halves. Inputs already split (from the state) and
 * transports not known yet are left as they are.
 */
function splitCredentials(inputs: Props): Props {
  const { transport, ...rest } = inputs;
  if (rest.credentials !== undefined) return inputs;
  const whole = isSecret(transport);
  const value = whole ? transport.value : transport;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return inputs;
  const plain: Props = {};
  const credentials: Props = {};
  const secretFields = CREDENTIALS[String((value as Props).type)] ?? [];
  for (const [key, field] of Object.entries(value)) (secretFields.includes(key) ? credentials : plain)[key] = field;
  return { ...rest, transport: whole ? secret(plain) : plain, credentials: whole ? secret(credentials) : credentials };
}
