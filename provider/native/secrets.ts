/**
 * The engine's wire form of special values in provider calls. Secrets arrive (because Configure answers
 * acceptSecrets) as `{ [SIG]: SECRET_SIG, value }` envelopes, and the engine does not mark outputs secret on its
 * own for such a provider: whatever the provider returns unwrapped is stored and shown in clear.
 */
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Record<string, unknown>;

export function isSecret(value: unknown): value is { value: unknown } {
  return value !== null && typeof value === "object" && (value as Props)[SIG] === SECRET_SIG;
}

export function secret(value: unknown): Props {
  return { [SIG]: SECRET_SIG, value };
}

/** Whether a secret envelope is anywhere inside `value`. */
export function holdsSecret(value: unknown): boolean {
  if (isSecret(value)) return true;
  if (Array.isArray(value)) return value.some(holdsSecret);
  if (value !== null && typeof value === "object") return Object.values(value).some(holdsSecret);
  return false;
}

/** `value` with every secret envelope replaced by what it holds: the plain values `provider/impl` works on. */
export function reveal<T>(value: T): T {
  if (isSecret(value)) return reveal(value.value) as T;
  if (Array.isArray(value)) return value.map(reveal) as T;
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)])) as T;
  return value;
}

/** The top-level keys of `props` that hold a secret anywhere. */
export function secretKeys(props: Props): Set<string> {
  return new Set(Object.keys(props).filter((k) => holdsSecret(props[k])));
}

/** `props` with each top-level property named in `keys` wrapped as one secret (values are plain on entry). */
export function concealed(props: Props, keys: Iterable<string>): Props {
  const out = { ...props };
  for (const k of keys) if (out[k] !== undefined && !isSecret(out[k])) out[k] = secret(out[k]);
  return out;
}
