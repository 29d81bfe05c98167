import { validatePolicy } from "../../sdk/index.ts";
import { adminClient } from "./config.ts";
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
    if (inputs.document === undefined) failures.push({ property: "document", reason: "document is required" });
    else if (!isUnknown(inputs.document)) {
      const result = validatePolicy(inputs.document);
      if (!result.ok) failures.push(...toFailures(result.errors, "document"));
    }
    return { inputs, failures };
  },

  diff: diffOn(COMPARED),

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

function body(inputs: Props): Props {
  return { name: inputs.name, document: inputs.document, owner: inputs.owner };
}

function outputs(inputs: Props, live: PolicyObject): Props {
  return { ...inputsOf(inputs, OUTPUT_ONLY), version: live.version, schemaVersion: OUTPUTS_SCHEMA_VERSION };
}
