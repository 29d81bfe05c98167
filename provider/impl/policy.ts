import { diffPolicies, validatePolicy } from "../../sdk/index.ts";
import { adminClient } from "./config.ts";
import { loadFailures } from "../policy-load.ts";
import { replaceNotes, tellReviewer, urnOf, type Note } from "./review.ts";
import { diffOn, forPulumi, inputsOf, isUnknown, OUTPUTS_SCHEMA_VERSION, toFailures, type CheckFailure, type Props } from "./common.ts";
import { createOwned, deleteOwned, nameFailures, updateOwned } from "./lifecycle.ts";

interface PolicyObject {
  name: string;
  document: unknown;
  owner?: string | null;
  version: number;
}

const COMPARED = ["name", "document", "owner"] as const;
const OUTPUT_ONLY = ["version", "schemaVersion"];

export const policyProvider = {
  async check(_olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const inputs = inputsOf(news, OUTPUT_ONLY);
    const failures = nameFailures(inputs.name);
    const unloaded = loadFailures(inputs.document);
    if (inputs.document === undefined) failures.push({ property: "document", reason: "document is required" });
    // No property: Pulumi would print the whole stand-in document as the property's value before the reason.
    else if (unloaded.length > 0) failures.push(...unloaded.map((reason) => ({ property: "", reason: `document: ${reason}` })));
    else if (!isUnknown(inputs.document)) {
      const result = validatePolicy(inputs.document);
      if (!result.ok) failures.push(...toFailures(result.errors, "document"));
    }
    return { inputs, failures };
  },

  /** Besides the engine's answer, the semantic summary of a document change (as `toolgate policy diff`) for the reviewer. */
  async diff(id: string, olds: Props, news: Props) {
    const result = await diffOn(COMPARED)(id, olds, news);
    if (result.changes) await tellReviewer(urnOf(news), [...replaceNotes("Policy", olds, news, result.replaces), ...policyNotes(String(news.name), olds.document, news.document)]);
    return result;
  },

  async create(inputs: Props) {
    const name = inputs.name as string;
    return forPulumi("create policy", name, async () => {
      const r = await createOwned<PolicyObject>(adminClient(), "policies", name, body(inputs), inputs.owner as string, inputs.adopt === true);
      return { id: name, outs: outputs(inputs, r.value) };
    });
  },

  async read(id: string, props: Props) {
    return forPulumi("read policy", id, async () => {
      const live = await adminClient().get<PolicyObject>("policies", id);
      if (!live) return {};
      const inputs = { ...inputsOf(props, OUTPUT_ONLY), name: live.value.name, document: live.value.document, owner: live.value.owner ?? undefined };
      return { id, props: outputs(inputs, live.value), inputs: inputsOf(inputs) };
    });
  },

  async update(_id: string, _olds: Props, news: Props) {
    const name = news.name as string;
    return forPulumi("update policy", name, async () => {
      const r = await updateOwned<PolicyObject>(adminClient(), "policies", name, body(news), news.owner as string, news.adopt === true);
      return { outs: outputs(news, r.value) };
    });
  },

  async delete(id: string, props: Props) {
    return forPulumi("delete policy", id, () => deleteOwned(adminClient(), "policies", id, props));
  },
};

/**
 * One note per semantic change from `before` to `after`: a warning for each that may allow a call denied before
 * (LOOSER), info for stricter and wording changes. Predicates are paired by meaning, not by position.
 */
export function policyNotes(name: string, before: unknown, after: unknown): Note[] {
  const subject = `Policy "${name}"`;
  if (isUnknown(after)) return [{ severity: "info", message: `${subject}: the document depends on values known only during the update; no policy summary in this preview` }];
  const a = validatePolicy(before);
  const b = validatePolicy(after);
  if (!a.ok || !b.ok) return [];
  return diffPolicies(a.document, b.document).map((c) => ({
    severity: c.direction === "looser" ? "warning" : "info",
    message: `${subject}: ${c.direction === "looser" ? "LOOSER" : c.direction} ${c.path}: ${c.description}`,
  }));
}

function body(inputs: Props): Props {
  return { name: inputs.name, document: inputs.document, owner: inputs.owner };
}

function outputs(inputs: Props, live: PolicyObject): Props {
  return { ...inputsOf(inputs, OUTPUT_ONLY), version: live.version, schemaVersion: OUTPUTS_SCHEMA_VERSION };
}
