import { randomBytes } from "node:crypto";

/**
 * Which gateway replica this is, and where the others are. stdio sessions live in one replica's
 * process table, so their session ids name the replica (`tgs_<replica>.<random>`), and a replica that
 * receives a request for another's session forwards it there (gateway/proxy/forward.ts).
 */
export interface ReplicaDirectory {
  readonly id: string;
  /** The proxy URL of a live replica, or undefined if it is not (or no longer) running. */
  locate(id: string): Promise<string | undefined>;
  close(): Promise<void>;
}

export const newReplicaId = () => randomBytes(5).toString("hex");

/** One gateway on its own (SQLite): no other replicas to find. */
export function soloReplica(id: string): ReplicaDirectory {
  return { id, locate: async () => undefined, close: async () => {} };
}
