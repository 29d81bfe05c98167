// MCP tool-call policy, managed as code: MCP servers, policies, grants and webhooks of a Toolgate gateway.
package toolgate
