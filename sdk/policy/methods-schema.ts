import { z } from "zod";
import { regexProblem } from "./regex.ts";
import { nameProblem } from "./names.ts";

/**
 * (extension) Sections that govern the requests other than `tools/call` that reach a server: `resources`
 * (`resources/read` and `resources/subscribe`, by URI), `prompts` (`prompts/get`, by name), `completion`
 * (`completion/complete`) and `client_roots` (the agent's answer to a server's `roots/list`). An absent section
 * leaves its requests allowed, as before the extension, so every existing document keeps its meaning.
 */

const got = (input: unknown) => (input === undefined ? "it is missing" : `got ${JSON.stringify(input)}`);

const OnDeny = z
  .string({ error: (i) => `on_deny must be a string, ${got(i.input)}` })
  .min(1, { error: "on_deny must not be empty" })
  .meta({ description: "Message returned to the agent when this rule denies the request." });

const SectionDefault = (what: string) =>
  z
    .enum(["allow", "deny"], { error: (i) => `default must be "allow" or "deny", ${got(i.input)}` })
    .meta({ description: `What happens to ${what} that no entry allows or denies.` });

const UriRegex = z
  .string({ error: (i) => `uri_regex must be a string, ${got(i.input)}` })
  .min(1, { error: "uri_regex must not be empty" })
  .superRefine((pattern, ctx) => {
    const problem = regexProblem(pattern);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ description: 'An RE2 pattern matched against the whole requested URI, unanchored unless you anchor it ("^file:///srv/docs/").' });

const PromptName = z
  .string({ error: (i) => `name must be a prompt name, ${got(i.input)}` })
  .min(1, { error: "name must not be empty" })
  .superRefine((name, ctx) => {
    const problem = nameProblem("prompt name", name);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  })
  .meta({ description: "One exact prompt name." });

const list = <T extends z.ZodType>(name: string, item: T, example: string) =>
  z.array(item, { error: (i) => `${name} must be a list like [${example}], ${got(i.input)}` });

export const ResourcesSchema = z
  .strictObject(
    {
      default: SectionDefault("resource URIs"),
      allow: list("allow", z.strictObject({ uri_regex: UriRegex }, { error: (i) => `an allow entry must be {"uri_regex": "..."}, ${got(i.input)}` }), '{"uri_regex": "^file:///srv/docs/"}')
        .optional()
        .meta({ description: "URIs matching one of these are allowed (under default deny)." }),
      deny_if: list("deny_if", z.strictObject({ uri_regex: UriRegex, on_deny: OnDeny.optional() }, { error: (i) => `a deny_if entry must be {"uri_regex": "...", "on_deny": "..."}, ${got(i.input)}` }), '{"uri_regex": "\\\\.env$"}')
        .optional()
        .meta({ description: "URIs matching one of these are denied, whatever allow says." }),
    },
    { error: (i) => `resources must be an object like {"default": "deny", "allow": [...]}, ${got(i.input)}` },
  )
  .meta({ description: "Toolgate extension: which URIs resources/read and resources/subscribe may name. Absent: every URI, as before." });

export const PromptsSchema = z
  .strictObject(
    {
      default: SectionDefault("prompts"),
      allow: list("allow", z.strictObject({ name: PromptName }, { error: (i) => `an allow entry must be {"name": "..."}, ${got(i.input)}` }), '{"name": "summarize"}')
        .optional()
        .meta({ description: "Prompts allowed by name (under default deny)." }),
      deny_if: list("deny_if", z.strictObject({ name: PromptName, on_deny: OnDeny.optional() }, { error: (i) => `a deny_if entry must be {"name": "...", "on_deny": "..."}, ${got(i.input)}` }), '{"name": "debug_dump"}')
        .optional()
        .meta({ description: "Prompts denied by name, whatever allow says." }),
    },
    { error: (i) => `prompts must be an object like {"default": "deny", "allow": [...]}, ${got(i.input)}` },
  )
  .meta({ description: "Toolgate extension: which prompts prompts/get may fetch (and complete arguments for). Absent: every prompt, as before." });

export const CompletionSchema = z
  .enum(["allow", "deny"], { error: (i) => `completion must be "allow" or "deny", ${got(i.input)}` })
  .meta({ description: 'Toolgate extension: whether completion/complete reaches the server (prompt references also follow prompts). Absent: "allow".' });

export const ClientRootsSchema = z
  .enum(["allow", "deny"], { error: (i) => `client_roots must be "allow" or "deny", ${got(i.input)}` })
  .meta({ description: "Toolgate extension: whether the gateway relays the agent's answer to a server's roots/list. Absent: the gateway's default (deny for stdio servers, allow for HTTP servers)." });

export const ListSchema = z
  .enum(["visible", "filtered"], { error: (i) => `list must be "visible" or "filtered", ${got(i.input)}` })
  .meta({ description: 'What tools/list shows. "visible" (default, as PolicyLayer): every tool except hidden ones; denied tools stay listed and their calls are denied. "filtered": only tools some call could be allowed to use.' });

/** Keys of the extension sections, for "did you mean" hints. */
export const METHOD_KEYS = {
  resources: ["default", "allow", "deny_if"],
  resourceAllow: ["uri_regex"],
  resourceDeny: ["uri_regex", "on_deny"],
  prompts: ["default", "allow", "deny_if"],
  promptAllow: ["name"],
  promptDeny: ["name", "on_deny"],
} as const;

export type Resources = z.output<typeof ResourcesSchema>;
export type Prompts = z.output<typeof PromptsSchema>;
