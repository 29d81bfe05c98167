import { request, type Dispatcher } from "undici";
import { z } from "zod";

/** What discovery needs of an IdentityProvider object. */
export interface DiscoverableProvider {
  name: string;
  issuer: string;
  /** Changes whenever the object does (through the config feed): a newer version fetches the metadata again. */
  version: number;
}

/** An issuer's authorization server metadata (RFC 8414 / OpenID Connect Discovery), every field kept. */
export type IssuerMetadata = { issuer: string } & Record<string, unknown>;

/** Endpoints the gateway reads from the metadata. */
export type MetadataEndpoint = "jwks_uri" | "token_endpoint" | "introspection_endpoint" | "authorization_endpoint" | "userinfo_endpoint";

/** Why an issuer's metadata could not be had; the message names the URL and what was wrong, never a secret. */
export class DiscoveryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DiscoveryError";
  }
}

export interface DiscoveryOptions {
  dispatcher?: Dispatcher;
  clock?: () => number;
  /** How long fetched metadata is used before it is fetched again (default 1 hour). */
  ttlMs?: number;
  /** How long a failed lookup is remembered, so an IdP that is down is not asked on every call (default 5 s). */
  retryMs?: number;
  /** Time allowed for each metadata request (default 5 s). */
  timeoutMs?: number;
}

export interface Discovery {
  /** The issuer's metadata; rejects with a DiscoveryError. */
  metadata(provider: DiscoverableProvider): Promise<IssuerMetadata>;
  /** One endpoint from the metadata, an http(s) URL; rejects with a DiscoveryError naming the field when it is missing or malformed. */
  endpoint(provider: DiscoverableProvider, field: MetadataEndpoint): Promise<string>;
}

const MetadataSchema = z.looseObject({ issuer: z.string() });
/** Metadata documents are small; a larger answer is not one. */
const MAX_METADATA_BYTES = 512 * 1024;

interface Entry {
  version: number;
  until: number;
  value: Promise<IssuerMetadata>;
}

/**
 * Reads and caches identity providers' metadata (docs/identity.md): OpenID Connect Discovery
 * (`<issuer>/.well-known/openid-configuration`), then RFC 8414 (`<origin>/.well-known/oauth-authorization-server<path>`).
 * The document's `issuer` must equal the configured issuer exactly (RFC 8414 section 3.3: otherwise it is refused).
 * Cached per provider and issuer for `ttlMs`; a newer provider version (an edit through the config feed) fetches
 * again; concurrent lookups share one fetch; a failure is remembered for `retryMs`.
 *
 * @example
 * const discovery = createDiscovery();
 * const tokenEndpoint = await discovery.endpoint(provider, "token_endpoint");
 */
export function createDiscovery(options: DiscoveryOptions = {}): Discovery {
  const clock = options.clock ?? Date.now;
  const ttlMs = options.ttlMs ?? 3_600_000;
  const retryMs = options.retryMs ?? 5_000;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const entries = new Map<string, Entry>();

  function metadata(p: DiscoverableProvider): Promise<IssuerMetadata> {
    // Keyed by issuer too: metadata depends on the issuer alone, and an edit of it must never reuse the old one.
    const key = `${p.name}\n${p.issuer}`;
    const known = entries.get(key);
    // An older version asking (a view that has not caught up yet) reuses what a newer one fetched.
    if (known && known.until > clock() && known.version >= p.version) return known.value;
    const value = fetchMetadata(p.issuer);
    const entry: Entry = { version: p.version, until: clock() + ttlMs, value };
    entries.set(key, entry);
    value.catch(() => {
      entry.until = clock() + retryMs;
    });
    return value;
  }

  async function fetchMetadata(issuer: string): Promise<IssuerMetadata> {
    let why = "";
    for (const url of metadataUrls(issuer)) {
      let status: number;
      let text: string;
      try {
        const response = await request(url, { ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}), headersTimeout: timeoutMs, bodyTimeout: timeoutMs, headers: { accept: "application/json" } });
        status = response.statusCode;
        if (status !== 200) {
          await response.body.dump();
          why = `its metadata at ${url} answered HTTP ${status}`;
          continue;
        }
        text = await boundedText(response.body);
      } catch (error) {
        const code = (error as { code?: string }).code;
        why = `its metadata at ${url} could not be read${code ? ` (${code})` : ""}`;
        continue;
      }
      const parsed = MetadataSchema.safeParse(parseJson(text));
      if (!parsed.success) {
        why = `its metadata at ${url} is not a metadata document (a JSON object with an issuer)`;
        continue;
      }
      // RFC 8414 section 3.3: metadata naming another issuer is not this issuer's (no slash or case folding).
      if (parsed.data.issuer !== issuer) throw new DiscoveryError(`its metadata at ${url} names issuer ${JSON.stringify(parsed.data.issuer)}, not ${JSON.stringify(issuer)}`);
      return parsed.data;
    }
    throw new DiscoveryError(why);
  }

  return {
    metadata,
    async endpoint(p, field) {
      const value = (await metadata(p))[field];
      if (value === undefined) throw new DiscoveryError(`its metadata has no ${field}`);
      if (typeof value !== "string" || !isHttpUrl(value)) throw new DiscoveryError(`its metadata's ${field} is not an http(s) URL`);
      return value;
    },
  };
}

/** RFC 8414 section 3.1 and OpenID Connect Discovery: both well-known locations of an issuer's metadata, in order. */
export function metadataUrls(issuer: string): string[] {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/$/, "");
  return [`${url.origin}${path}/.well-known/openid-configuration`, `${url.origin}/.well-known/oauth-authorization-server${path}`];
}

async function boundedText(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_METADATA_BYTES) throw Object.assign(new Error("metadata too large"), { code: "TOO_LARGE" });
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const protocol = new URL(value).protocol;
  return protocol === "https:" || protocol === "http:";
}
