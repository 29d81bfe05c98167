import { WebhookSpecSchema, zodIssues } from "../../sdk/index.ts";
import { adminClient } from "./config.ts";
import { diffOn, forPulumi, inputsOf, isUnknown, OUTPUTS_SCHEMA_VERSION, toFailures, type CheckFailure, type Props } from "./common.ts";
import { createOwned, deleteOwned, nameFailures, updateOwned } from "./lifecycle.ts";
import { replaceNotes, tellReviewer, urnOf } from "./review.ts";
import { DRIFTED_SECRET, revisionOf } from "./secret-revisions.ts";

interface WebhookObject {
  name: string;
  url: string;
  events: string[];
  secretDigest: string;
  description?: string | null;
  owner?: string | null;
  version: number;
}

const COMPARED = ["name", "url", "events", "signingSecret", "description", "owner"] as const;
const OUTPUT_ONLY = ["version", "secretDigest", "schemaVersion"];

export const webhookProvider = {
  async check(olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const inputs = inputsOf(news, OUTPUT_ONLY);
    const failures = nameFailures(inputs.name);
    if (isUnknown(inputs)) return { inputs: withRevision(olds, inputs), failures };
    const parsed = WebhookSpecSchema.safeParse(spec(inputs), { reportInput: false });
    if (!parsed.success) {
      failures.push(...toFailures(zodIssues(parsed.error, { input: spec(inputs) }).map((i) => ({ ...i, path: i.path.replace(/^\/secret/, "/signingSecret") }))));
      return { inputs, failures };
    }
    return { inputs: withRevision(olds, { ...inputs, events: parsed.data.events }), failures };
  },

  async diff(id: string, olds: Props, news: Props) {
    const result = await diffOn(COMPARED)(id, olds, news);
    await tellReviewer(urnOf(news), replaceNotes("Webhook", olds, news, result.replaces));
    return result;
  },

  async create(inputs: Props) {
    const name = inputs.name as string;
    return forPulumi("create webhook", name, async () => {
      const r = await createOwned<WebhookObject>(adminClient(), "webhooks", name, spec(inputs), inputs.owner as string, inputs.adopt === true);
      return { id: name, outs: outputs(inputs, r.value) };
    });
  },

  async read(id: string, props: Props) {
    return forPulumi("read webhook", id, async () => {
      const live = await adminClient().get<WebhookObject>("webhooks", id);
      if (!live) return {};
      const sameSecret = live.value.secretDigest === props.secretDigest;
      const inputs: Props = {
        ...inputsOf(props, OUTPUT_ONLY),
        name: live.value.name,
        url: live.value.url,
        events: live.value.events,
        signingSecret: sameSecret ? props.signingSecret : DRIFTED_SECRET,
        description: live.value.description ?? undefined,
        owner: live.value.owner ?? undefined,
      };
      return { id, props: outputs(inputs, live.value), inputs: inputsOf(inputs) };
    });
  },

  async update(_id: string, _olds: Props, news: Props) {
    const name = news.name as string;
    return forPulumi("update webhook", name, async () => {
      const r = await updateOwned<WebhookObject>(adminClient(), "webhooks", name, spec(news), news.owner as string, news.adopt === true);
      return { outs: outputs(news, r.value) };
    });
  },

  async delete(id: string, props: Props) {
    return forPulumi("delete webhook", id, () => deleteOwned(adminClient(), "webhooks", id, props));
  },
};

/** `signingSecretRevision`: a plain input that shows a changed signing secret as changed, without its value. */
function withRevision(olds: Props, inputs: Props): Props {
  return { ...inputs, signingSecretRevision: revisionOf(olds, inputs, "signingSecret") };
}

/** The admin API body: the signing secret travels as `secret`. */
function spec(inputs: Props): Props {
  const out: Props = { name: inputs.name, url: inputs.url, secret: inputs.signingSecret, owner: inputs.owner };
  if (inputs.events !== undefined) out.events = inputs.events;
  if (inputs.description !== undefined) out.description = inputs.description;
  return out;
}

function outputs(inputs: Props, live: WebhookObject): Props {
  return { ...inputsOf(inputs, OUTPUT_ONLY), version: live.version, secretDigest: live.secretDigest, schemaVersion: OUTPUTS_SCHEMA_VERSION };
}
