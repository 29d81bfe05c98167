/**
 * The `toolgate` Pulumi resource plugin (started by `bin/pulumi-resource-toolgate`). The engine starts it with its
 * own address as the last argument and reads the port this process serves on from the first line of stdout.
 */
import { reportTo } from "../impl/review.ts";
import { grpc, providerGrpc } from "./rpc.ts";
import { providerService } from "./server.ts";

/** Pulumi's own limit for provider messages (a large policy document or state passes). */
const MAX_MESSAGE_BYTES = 400 * 1024 * 1024;

const engine = process.argv.at(-1);
if (process.argv.length > 2 && engine && /^[\w.-]+:\d+$/.test(engine)) reportTo(engine);

const server = new grpc.Server({ "grpc.max_receive_message_length": MAX_MESSAGE_BYTES, "grpc.max_send_message_length": MAX_MESSAGE_BYTES });
server.addService(providerGrpc.ResourceProviderService, providerService());
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
  if (error) {
    process.stderr.write(`toolgate: the provider plugin cannot listen on 127.0.0.1: ${error.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${port}\n`);
});
