import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { ProxyMetrics } from "./contracts.ts";

/** Prometheus metrics of one gateway process (no module-level registry: tests run several gateways). */
export function createMetrics(): ProxyMetrics & { registry: Registry; observe(gauges: { inFlight(): number; stdioProcesses(): number }): void; toolChanged(server: string): void } {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "toolgate_process_" });
  const decisions = new Counter({ name: "toolgate_decisions_total", help: "tools/call decisions by effect, rule and server", labelNames: ["effect", "rule", "server"], registers: [registry] });
  const latency = new Histogram({
    name: "toolgate_request_duration_seconds",
    help: "Time from receiving an MCP request to the end of its response, by JSON-RPC method",
    labelNames: ["method"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const upstreamErrors = new Counter({ name: "toolgate_upstream_errors_total", help: "Upstream failures by server and kind", labelNames: ["server", "kind"], registers: [registry] });
  const toolChanges = new Counter({ name: "toolgate_tool_definition_changes_total", help: "Tool definitions that changed after they were first seen or last reviewed, by server", labelNames: ["server"], registers: [registry] });
  return {
    registry,
    toolChanged: (server) => toolChanges.inc({ server }),
    observe(gauges) {
      new Gauge({ name: "toolgate_inflight_calls", help: "MCP POST requests being handled", registers: [registry], collect() { this.set(gauges.inFlight()); } });
      new Gauge({ name: "toolgate_stdio_processes", help: "stdio upstream processes alive", registers: [registry], collect() { this.set(gauges.stdioProcesses()); } });
    },
    decision: (effect, rule, server) => decisions.inc({ effect, rule, server }),
    latency: (method, seconds) => latency.observe({ method: knownMethod(method) }, seconds),
    upstreamError: (server, kind) => upstreamErrors.inc({ server, kind }),
  };
}

const METHODS = new Set(["initialize", "tools/call", "tools/list", "resources/list", "resources/read", "resources/subscribe", "resources/unsubscribe", "resources/templates/list", "prompts/list", "prompts/get", "completion/complete", "logging/setLevel", "ping", "notification", "response", "GET", "DELETE"]);
/** Label values must stay bounded: unknown methods share one label. */
function knownMethod(method: string): string {
  return METHODS.has(method) ? method : "other";
}
