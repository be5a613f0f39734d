/**
 * A minimal ONNX (protobuf) writer: just enough of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto,
 * TensorProto, ValueInfoProto) to emit small hand-built graphs, with no dependency. Field numbers are those of
 * onnx/onnx.proto. Output is deterministic: the same graph always serializes to the same bytes.
 */

/** ONNX TensorProto.DataType values used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT64: 7, BOOL: 9 } as const;
/** One of the element types used by the fixture. */
export type DataType = (typeof DataType)[keyof typeof DataType];

/** A dimension: a fixed size or a symbolic name. */
export type Dim = number | string;

/** A graph input/output declaration. */
export interface ValueInfo {
  name: string;
  type: DataType;
  shape: Dim[];
}

/** A constant tensor (initializer or Constant node value). */
export interface TensorValue {
  name?: string;
  type: DataType;
  dims: number[];
  /** Little-endian element bytes (raw_data). */
  raw: Buffer;
}

/** A node attribute value. */
export type AttrValue = number | string | number[] | TensorValue | { int: number } | { float: number };

/** A graph node. */
export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

/** A whole model's graph. */
export interface GraphDef {
  name: string;
  nodes: NodeDef[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers?: TensorValue[];
}

// ---- protobuf wire format ---------------------------------------------------------------------------------------

function varint(value: bigint | number): Buffer {
  // int64 fields carry negative values as 10-byte two's complement varints.
  let v = BigInt.asUintN(64, BigInt(value));
  const bytes: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    bytes.push(b);
  } while (v > 0n);
  return Buffer.from(bytes);
}

const key = (field: number, wire: number): Buffer => varint((field << 3) | wire);
const intField = (field: number, value: number | bigint): Buffer => Buffer.concat([key(field, 0), varint(value)]);
const bytesField = (field: number, data: Buffer): Buffer => Buffer.concat([key(field, 2), varint(data.length), data]);
const strField = (field: number, s: string): Buffer => bytesField(field, Buffer.from(s, 'utf8'));
function floatField(field: number, value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return Buffer.concat([key(field, 5), b]);
}

// ---- ONNX messages ----------------------------------------------------------------------------------------------

function tensorProto(t: TensorValue): Buffer {
  return Buffer.concat([
    ...t.dims.map((d) => intField(1, d)),
    intField(2, t.type),
    ...(t.name ? [strField(8, t.name)] : []),
    bytesField(9, t.raw),
  ]);
}

function valueInfoProto(v: ValueInfo): Buffer {
  const dims = v.shape.map((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : strField(2, d)));
  const tensorType = Buffer.concat([intField(1, v.type), bytesField(2, Buffer.concat(dims))]);
  return Buffer.concat([strField(1, v.name), bytesField(2, bytesField(1, tensorType))]);
}

// AttributeProto.AttributeType values.
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, INTS: 7 } as const;

function attributeProto(name: string, value: AttrValue): Buffer {
  const head = strField(1, name);
  if (typeof value === 'string') return Buffer.concat([head, intField(20, ATTR.STRING), bytesField(4, Buffer.from(value))]);
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return Buffer.concat([head, intField(20, ATTR.FLOAT), floatField(2, value)]);
    return Buffer.concat([head, intField(20, ATTR.INT), intField(3, value)]);
  }
  if (Array.isArray(value)) return Buffer.concat([head, intField(20, ATTR.INTS), ...value.map((v) => intField(8, v))]);
  if ('int' in value) return Buffer.concat([head, intField(20, ATTR.INT), intField(3, value.int)]);
  if ('float' in value) return Buffer.concat([head, intField(20, ATTR.FLOAT), floatField(2, value.float)]);
  return Buffer.concat([head, intField(20, ATTR.TENSOR), bytesField(5, tensorProto(value))]);
}

function nodeProto(n: NodeDef, index: number): Buffer {
  return Buffer.concat([
    ...n.inputs.map((i) => strField(1, i)),
    ...n.outputs.map((o) => strField(2, o)),
    strField(3, `${n.op}_${index}`),
    strField(4, n.op),
    ...Object.entries(n.attrs ?? {}).map(([k, v]) => bytesField(5, attributeProto(k, v))),
  ]);
}

/** Serializes a model: IR version 8, default-domain opset `opset`. */
export function encodeModel(graph: GraphDef, opset = 17, producer = 's3-palette-model-fixture'): Buffer {
  const g = Buffer.concat([
    ...graph.nodes.map((n, i) => bytesField(1, nodeProto(n, i))),
    strField(2, graph.name),
    ...(graph.initializers ?? []).map((t) => bytesField(5, tensorProto(t))),
    ...graph.inputs.map((v) => bytesField(11, valueInfoProto(v))),
    ...graph.outputs.map((v) => bytesField(12, valueInfoProto(v))),
  ]);
  return Buffer.concat([
    intField(1, 8),
    strField(2, producer),
    bytesField(7, g),
    bytesField(8, Buffer.concat([strField(1, ''), intField(2, opset)])),
  ]);
}

// ---- constant helpers -------------------------------------------------------------------------------------------

/** A float32 constant tensor. */
export function floatTensor(dims: number[], values: number[], name?: string): TensorValue {
  const raw = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  return { name, type: DataType.FLOAT, dims, raw };
}

/** An int64 constant tensor. */
export function int64Tensor(dims: number[], values: number[], name?: string): TensorValue {
  const raw = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => raw.writeBigInt64LE(BigInt(v), i * 8));
  return { name, type: DataType.INT64, dims, raw };
}
