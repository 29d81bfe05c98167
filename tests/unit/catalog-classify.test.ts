import { test } from "node:test";
import assert from "node:assert/strict";
import { classifyTool, nameWords, type ToolDefinition } from "../../sdk/index.ts";

const schema = (...props: string[]) => ({ type: "object", properties: Object.fromEntries(props.map((p) => [p, { type: "string" }])) });

// [tool, category, severity, first evidence]
const CASES: [ToolDefinition, string, string, string][] = [
  [{ name: "delete_repository" }, "destructive", "critical", 'name verb "delete"'],
  [{ name: "dropTable" }, "destructive", "critical", 'name verb "drop"'],
  [{ name: "remove-member" }, "destructive", "critical", 'name verb "remove"'],
  [{ name: "update_record", annotations: { destructiveHint: true } }, "destructive", "critical", "annotation destructiveHint"],
  [{ name: "create_refund", inputSchema: schema("charge", "amount") }, "financial", "critical", 'name verb "refund"'],
  [{ name: "transfer_funds" }, "financial", "critical", 'name verb "transfer"'],
  [{ name: "submit", inputSchema: schema("amount", "currency") }, "financial", "critical", 'input "amount" (amounts)'],
  [{ name: "run_query", inputSchema: schema("sql") }, "execute", "high", 'name verb "run"'],
  [{ name: "terminal", inputSchema: schema("command") }, "execute", "high", 'input "command" (commands)'],
  [{ name: "shell_exec" }, "execute", "high", 'name verb "shell"'],
  [{ name: "create_issue", inputSchema: schema("title", "body") }, "write", "medium", 'name verb "create"'],
  [{ name: "send_webhook", inputSchema: schema("webhookUrl") }, "write", "high", 'name verb "send"'],
  [{ name: "write_file", inputSchema: schema("path", "content") }, "write", "medium", 'name verb "write"'],
  [{ name: "get_weather" }, "read", "low", 'name verb "get"'],
  [{ name: "search", inputSchema: schema("query") }, "read", "low", 'name verb "search"'],
  [{ name: "read_file", inputSchema: schema("path") }, "read", "medium", 'name verb "read"'],
  [{ name: "fetch_page", inputSchema: schema("url") }, "read", "medium", 'name verb "fetch"'],
  [{ name: "weather", annotations: { readOnlyHint: true } }, "read", "low", "annotation readOnlyHint"],
  [{ name: "do_thing" }, "other", "medium", "no known verb, annotation or input signal"],
];

for (const [tool, category, severity, evidence] of CASES) {
  test(`${tool.name} is ${category} (${severity})`, () => {
    const c = classifyTool(tool);
    assert.deepEqual([c.category, c.severity, c.evidence[0]], [category, severity, evidence]);
  });
}

test("a read-only hint does not outweigh a destructive name: the riskier signal wins", () => {
  const c = classifyTool({ name: "delete_cache", annotations: { readOnlyHint: true } });
  assert.equal(c.category, "destructive");
  assert.deepEqual(c.evidence, ['name verb "delete"']);
});

test("classification is deterministic and reads camelCase, snake_case and kebab-case names", () => {
  assert.deepEqual(nameWords("getHTTPStatus_v2-now"), ["get", "httpstatus", "v2", "now"]);
  const tool = { name: "deleteEntities", description: "x", inputSchema: schema("entityNames") };
  assert.deepEqual(classifyTool(tool), classifyTool(structuredClone(tool)));
});
