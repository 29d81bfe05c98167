"""An MCP server, a policy and a grant on a Toolgate gateway, declared with the generated Python SDK."""

import pulumi
import pulumi_toolgate as toolgate

config = pulumi.Config()

upstream = toolgate.McpServer(
    "upstream",
    transport=toolgate.McpServerTransportArgs(
        type="streamable-http",
        url=config.require("upstreamUrl"),
        # Upstream credentials are always secret: encrypted in the state, never shown in a diff.
        headers={"Authorization": config.require_secret("upstreamKey").apply(lambda key: f"Bearer {key}")},
    ),
    description="The team's upstream MCP server",
)

agent = toolgate.Policy(
    "agent",
    document={
        "version": "1",
        "default": "deny",
        "tools": {
            "echo": {"deny_if": [{"path": "args.message", "op": "regex", "value": "^rm ", "on_deny": "No shell commands."}]},
            "get-sum": {"limits": [{"counter": "sums", "window": "minute", "max": 60}]},
        },
    },
)

# Passing the resources' name outputs (not plain strings) makes Pulumi create the server and policy first.
grant = toolgate.Grant("agent-grant", name="agent", server=upstream.name, policy=agent.name)

pulumi.export("mcpUrl", grant.url)
# A secret output: `pulumi stack output token --show-secrets` prints it.
pulumi.export("token", grant.token)
