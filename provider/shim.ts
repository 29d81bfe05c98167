/* eslint-disable @typescript-eslint/no-require-imports -- the serialized closure must not depend on this module's imports */
import type * as pulumi from "@pulumi/pulumi";
import type * as nodeModule from "node:module";
import type * as nodePath from "node:path";
import type * as providerImpl from "./impl/index.ts";

export type ResourceKind = "server" | "policy" | "grant" | "webhook" | "identityProvider";

/**
 * The provider object Pulumi serializes into state. It captures nothing but the kind string: every method
 * loads the real implementation (`toolgate/provider-impl`) at call time, resolved from the program's
 * directory, so state holds ~1 KB of stable text, no secrets, and deletes of old resources run the current
 * code (see docs/provider.md). `require` is not captured by Pulumi's serializer; it is the provider
 * process's own.
 */
export function serializedProvider(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  // One object per kind, so Pulumi serializes each kind once (it caches by object identity).
  let provider = shims.get(kind);
  if (!provider) shims.set(kind, (provider = shim(kind)));
  return provider;
}

const shims = new Map<ResourceKind, pulumi.dynamic.ResourceProvider>();

function shim(kind: ResourceKind): pulumi.dynamic.ResourceProvider {
  return {
    async configure(req) {
      return load().configure(req);
    },
    async check(olds, news) {
      return load().providers[kind].check(olds, news);
    },
    async diff(id, olds, news) {
      return load().providers[kind].diff(id, olds, news);
    },
    async create(inputs) {
      return load().providers[kind].create(inputs);
    },
    async read(id, props) {
      return load().providers[kind].read(id, props);
    },
    async update(id, olds, news) {
      return load().providers[kind].update(id, olds, news);
    },
    async delete(id, props) {
      return load().providers[kind].delete(id, props);
    },
  };

  function load(): typeof providerImpl {
    const { createRequire } = require("node:module") as typeof nodeModule;
    const { join } = require("node:path") as typeof nodePath;
    return createRequire(join(process.cwd(), "pulumi-program.js"))("toolgate/provider-impl");
  }
}
