/**
 * Workflow histories <-> the proto3 JSON other Temporal tools write (`temporal workflow show -o json`), via the SDK's
 * `historyToJSON`/`historyFromJSON`. Workaround: in this install npm gave @temporalio/common and @temporalio/proto each
 * their own copy of protobufjs 8 (the root slot holds grpc's protobufjs 7), so the SDK helpers fail with
 * "type must be a Type" (an instanceof across the two copies). Then the same conversion runs with the protojson of
 * the copy @temporalio/proto loads. Remove the fallback once `npm ls protobufjs` shows one 8.x copy.
 */
import path from 'node:path';
import { historyFromJSON, historyToJSON, type History } from '@temporalio/common/lib/proto-utils';

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}
interface HistoryType {
  fromObject(o: unknown): unknown;
}

let fallback: { protojson: ProtoJson; type: HistoryType } | undefined;

/** The protojson of @temporalio/proto's own protobufjs, and the History type of its (patched) root. */
function protoOwnJson() {
  if (fallback) return fallback;
  const from = { paths: [path.dirname(require.resolve('@temporalio/common/package.json'))] };
  const protoDir = path.dirname(require.resolve('@temporalio/proto/package.json', from));
  const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [protoDir] })) as ProtoJson;
  const proto = require(protoDir) as object;
  const { patchProtobufRoot } = require(path.join(protoDir, 'lib/patch-protobuf-root')) as {
    patchProtobufRoot(r: object): { lookupType(n: string): HistoryType };
  };
  fallback = { protojson, type: patchProtobufRoot(proto).lookupType('temporal.api.history.v1.History') };
  return fallback;
}

const isCopyMismatch = (err: unknown) => err instanceof TypeError && /must be a Type/.test(err.message);

/** A history as pretty proto3 JSON text. */
export function toHistoryJson(history: History): string {
  try {
    return historyToJSON(history);
  } catch (err) {
    if (!isCopyMismatch(err)) throw err;
    const { protojson, type } = protoOwnJson();
    return JSON.stringify(protojson.toJson(type, type.fromObject(history)), null, 2);
  }
}

/** A history parsed from proto3 JSON (as written by `toHistoryJson` or the Temporal CLI/UI). */
export function fromHistoryJson(json: unknown): History {
  try {
    return historyFromJSON(json);
  } catch (err) {
    if (!isCopyMismatch(err)) throw err;
    const { protojson, type } = protoOwnJson();
    return protojson.fromJson(type, json, { ignoreUnknownFields: true }) as History;
  }
}
