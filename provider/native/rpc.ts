import { createRequire } from "node:module";
import type * as grpcJs from "@grpc/grpc-js";
import type * as providerPbModule from "@pulumi/pulumi/proto/provider_pb.js";
import type * as providerGrpcModule from "@pulumi/pulumi/proto/provider_grpc_pb.js";
import type * as pluginPbModule from "@pulumi/pulumi/proto/plugin_pb.js";
import type * as structPbModule from "google-protobuf/google/protobuf/struct_pb.js";
import type * as emptyPbModule from "google-protobuf/google/protobuf/empty_pb.js";

/**
 * The generated gRPC stubs that ship in `@pulumi/pulumi/proto`, and the `@grpc/grpc-js` they were built with:
 * a server or credentials from another copy of grpc-js are refused by the stubs' own checks.
 */
const require = createRequire(import.meta.url);
const stubs = require.resolve("@pulumi/pulumi/proto/provider_grpc_pb");
const fromStubs = createRequire(stubs);

export const grpc = fromStubs("@grpc/grpc-js") as typeof grpcJs;
export const providerPb = require("@pulumi/pulumi/proto/provider_pb") as typeof providerPbModule;
export const providerGrpc = require(stubs) as typeof providerGrpcModule;
export const pluginPb = require("@pulumi/pulumi/proto/plugin_pb") as typeof pluginPbModule;
export const structPb = fromStubs("google-protobuf/google/protobuf/struct_pb") as typeof structPbModule;
export const emptyPb = fromStubs("google-protobuf/google/protobuf/empty_pb") as typeof emptyPbModule;
