// The quickstart program (`npm start` runs it with `pulumi up`): one real MCP server (the reference filesystem
// server, over stdio, sharing ./files), two policies and two grants. The gateway endpoint and admin token come
// from TOOLGATE_ENDPOINT / TOOLGATE_TOKEN, which `toolgate quickstart` sets.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { Grant, McpServer, Policy } from "toolgate";

const here = dirname(fileURLToPath(import.meta.url));
const filesystemServer = createRequire(import.meta.url).resolve("@modelcontextprotocol/server-filesystem/dist/index.js");

const files = new McpServer("files", {
  transport: { type: "stdio", command: process.execPath, args: [filesystemServer, join(here, "files")] },
  description: "Reference MCP filesystem server sharing examples/quickstart/files",
});

// Readers may read and list, a few times a minute; everything else is denied with a reason.
const reader = new Policy("reader", { document: Policy.fromFile(join(here, "policies", "reader.yaml")) });
// Maintainers may do everything except move files, and writes must stay in notes/.
const maintainer = new Policy("maintainer", { document: Policy.fromFile(join(here, "policies", "maintainer.yaml")) });

const readerGrant = new Grant("reader", { server: files, policy: reader, description: "Read-only agent" });
const maintainerGrant = new Grant("maintainer", { server: files, policy: maintainer, description: "Maintenance agent" });

export const mcpUrl = readerGrant.url;
export const readerToken = readerGrant.token;
export const maintainerToken = maintainerGrant.token;
